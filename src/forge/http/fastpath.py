"""Direct dispatch of the simplest GET routes, past FastAPI's routing and dependency solving.

Measured (docs/benchmarks.md): FastAPI's generic machinery — walking every route, solving
dependencies, parsing cookies and query strings nobody asked for, validating the return value —
costs about as much as all of Forge's own work on an authenticated `GET /v1/sites/{site}`. A
route qualifies when it is a `ForgeRoute` for GET whose only parameter is its `Scoped` access
(no query, header, cookie or body parameters) and whose answer is one Pydantic model. For
those, this runs exactly what FastAPI would: the same `Scoped` dependency, the same endpoint,
the same error translation, the same unit of work; only the generic machinery is skipped.
Routes are tried in the application's order, and a path that an earlier, non-qualifying route
would take goes through FastAPI as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from forge.errors import ForgeError
from forge.http.auth import finish_request
from forge.http.errors import error_response
from forge.http.routing import ForgeRoute


@dataclass(frozen=True)
class _Route:
    route: APIRoute
    dependency: Callable[[Request], Any] | None  # None: leave the request to FastAPI
    access_param: str = ""


def _direct(route: APIRoute) -> _Route:
    dependant = route.dependant
    plain = (
        isinstance(route, ForgeRoute)
        and route.methods == {"GET"}
        and not (dependant.path_params or dependant.query_params or dependant.header_params)
        and not (dependant.cookie_params or dependant.body_params)
        and len(dependant.dependencies) == 1
        and isinstance(route.response_model, type)
        and issubclass(route.response_model, BaseModel)
    )
    if not plain:
        return _Route(route, None)
    scoped = dependant.dependencies[0]
    parameters = set(inspect.signature(route.endpoint).parameters)
    if not hasattr(scoped.call, "forge_scope") or scoped.name is None:
        return _Route(route, None)
    if scoped.dependencies or parameters != {scoped.name}:
        return _Route(route, None)
    return _Route(route, scoped.call, scoped.name)


class FastPath:
    def __init__(self, routers: Iterable[APIRouter]) -> None:
        self._routes = [
            _direct(route)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute) and "GET" in (route.methods or ())
        ]

    def match(self, path: str) -> tuple[_Route, dict[str, str]] | None:
        for candidate in self._routes:
            found = candidate.route.path_regex.match(path)
            if found is not None:
                return (candidate, found.groupdict()) if candidate.dependency else None
        return None

    @staticmethod
    async def serve(
        candidate: _Route, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        assert candidate.dependency is not None
        scope["path_params"] = params
        request = Request(scope, receive)
        try:
            access = await candidate.dependency(request)
            result = await candidate.route.endpoint(**{candidate.access_param: access})
        except ForgeError as err:
            finish_request(request, failed=True)
            response = error_response(err, scope["path"])
        except BaseException:
            finish_request(request, failed=True)
            raise
        else:
            finish_request(request, failed=False)
            response = _response(result, candidate.route.status_code or 200)
        await response(scope, receive, send)


def _response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    assert isinstance(result, BaseModel)
    body = result.model_dump_json(by_alias=True).encode()
    return Response(body, status_code=status, media_type="application/json")
