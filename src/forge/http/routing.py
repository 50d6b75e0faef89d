"""The route class every Forge router uses: the pipeline's last two stages, route and commit.

A route is a plain `def`: `ForgeRoute` runs the stages before it (declared with `Scoped`, run
by `admit` before FastAPI solves the route's parameters) and the route as one unit of work,
through `Database.run` (a worker thread on PostgreSQL, inline on SQLite). In that same unit
it renders the response, stores an Idempotency-Key's outcome and commits, so the commit lands
before the response is sent and a client that reads right after a write sees it; a
route that raised is rolled back. An `async def` route (one that must await, e.g. the rate
limiter, or one that only renders what the resolvers loaded) runs on the event loop and reaches
the database only through `await access.run(…)`; its commit stage needs no worker thread when
it opened no session.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, get_origin, get_type_hints

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Path
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from forge.http import idempotency, paths
from forge.http.access import Access
from forge.http.errors import V1, Surface, method_not_allowed
from forge.http.pipeline import Gate, admit, bucket_for

Endpoint = Callable[..., Any]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# The request's Access, from `admit` (run by the route handler) to the route's arguments.
_ACCESS: ContextVar[Access] = ContextVar("forge_access")


@dataclass(frozen=True)
class Gated:
    """A route's `Scoped` gate, the parameter that receives its Access, and the path
    parameters the gate's resolver reads that the route itself does not declare."""

    gate: Gate
    access_param: str
    resolver_only: tuple[str, ...]


def _gated(hints: dict[str, Any]) -> tuple[Gate, str] | None:
    """The gate declared as `name: Annotated[Access, Scoped(...)]`, and that name."""
    for name, hint in hints.items():
        if get_origin(hint) is Annotated:
            for meta in hint.__metadata__:
                if isinstance(meta, Gate):
                    return meta, name
    return None


def _as_fastapi_sees_it(endpoint: Endpoint) -> tuple[inspect.Signature, Gated | None]:
    """The endpoint's signature for FastAPI: the Access parameter replaced by the path
    parameters its resolver reads (documented and validated as the route's own)."""
    hints = get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    found = _gated(hints)
    keep = [
        p.replace(annotation=hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY)
        for p in signature.parameters.values()
        if found is None or p.name != found[1]
    ]
    returns = hints.get("return", signature.return_annotation)
    if found is None:
        return signature.replace(parameters=keep, return_annotation=returns), None
    gate, access_param = found
    declared = {p.name for p in keep}
    resolver_only = tuple(
        name for name in (gate.resolver.params if gate.resolver else ()) if name not in declared
    )
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, Path(description=f"The `{name}` this route acts on.")],
        )
        for name in resolver_only
    ]
    gated = Gated(gate, access_param, resolver_only)
    return signature.replace(parameters=[*keep, *added], return_annotation=returns), gated


def _declared_path_params(dependant: Dependant) -> set[str]:
    names = {p.name for p in dependant.path_params}
    for sub in dependant.dependencies:
        names |= _declared_path_params(sub)
    return names


def _solved_dependant(route: APIRoute) -> Dependant:
    """The dependant FastAPI's own handler for this build would solve: an inclusion's (with
    its path and dependencies) while `include_router` builds it, else the route's. The same
    look-up as `APIRoute.get_route_handler`."""
    context = fastapi_routing._effective_route_context_var.get()
    if context is not None and context.original_route is route:
        dependant: Dependant = context.dependant
        return dependant
    return route.dependant


def _takes_path_params_only(dependant: Dependant) -> bool:
    """Whether solving `dependant` is validating its path parameters (and handing it a
    `response: Response`): nothing else to read, call or clean up."""
    return not (
        dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.dependencies
        or dependant.request_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    )


def _temporal_response() -> Response:
    """The `response: Response` a route may set status and headers on, as FastAPI's
    `solve_dependencies` makes it."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


def _path_params_handler(dependant: Dependant) -> Handler:
    """FastAPI's handler for a route that takes path parameters only, without the general
    solver around them (a tenth of an authenticated GET, measured): the same validator on the
    same fields, so the same values and the same 422. The endpoint is `ForgeRoute`'s unit of
    work, an `async def` that always returns the rendered `Response`."""
    endpoint = dependant.call
    assert endpoint is not None and inspect.iscoroutinefunction(endpoint)
    fields = dependant.path_params
    response_param = dependant.response_param_name

    async def direct(request: Request) -> Response:
        values, errors = request_params_to_args(fields, request.path_params)
        if errors:
            raise RequestValidationError(errors, body=None)
        if response_param:
            values[response_param] = _temporal_response()
        response: Response = await endpoint(**values)
        return response

    return direct


def _abort(access: Access, exc: BaseException) -> None:
    access.finish(failed=True)
    idempotency.settle_failure(access, exc)


async def abandon(request: Request, exc: BaseException) -> None:
    """A request that failed before its route ran (401…429, 404, a replay, a 422): end the unit
    of work its stages opened, off the event loop, even if the request is being cancelled."""
    access: Access | None = getattr(request.state, "access", None)
    if access is None or access.finished:
        return
    with anyio.CancelScope(shield=True):
        await _settle(access, _abort, access, exc)


async def _settle(access: Access, work: Callable[..., None], *args: Any) -> None:
    """Run the commit stage (or its abort) off the event loop when the unit holds a session or
    an Idempotency-Key claim; a unit that made only autocommit look-ups ends on the loop, since
    handing its connection back to the pool is no round trip (an idle connection's rollback
    sends nothing)."""
    if access.holds_transaction:
        await access.database.run(work, *args)
    else:
        work(*args)


def add_routers(app: FastAPI, *routers: APIRouter) -> None:
    """The routes of `routers`, in order, into the app's own route table: one flat list, as a
    bare FastAPI app's. Not `include_router`, which (since FastAPI 0.137) keeps each included
    router as a node of the table: a request then matches its path twice in the router that
    has it (once to choose the node, once inside it) after scanning every earlier router's
    routes, a tenth of an authenticated GET (docs/benchmarks.md). A router's routes are complete
    as declared (`APIRouter` builds them with its prefix, tags and responses; `ForgeRoute` adds
    its surface's error responses), so the inclusion adds nothing to them."""
    for router in routers:
        assert not (router.on_startup or router.on_shutdown), "a router with its own lifespan"
        app.router.routes.extend(router.routes)


class ForgeRoute(APIRoute):
    # The shape its errors take (forge.http.errors); a router of another surface subclasses.
    error_surface: ClassVar[Surface] = V1

    def __init__(self, path: str, endpoint: Endpoint, **kwargs: Any) -> None:
        # Before FastAPI reads the signature (and builds the handler, which needs the gate).
        self.gated: Gated | None = None
        # Every operation documents its surface's error responses (its own come after them).
        kwargs["responses"] = {**self.error_surface.responses, **(kwargs.get("responses") or {})}
        super().__init__(path, self._in_unit_of_work(endpoint), **kwargs)
        self.gate: Gate | None = self.gated.gate if self.gated is not None else None
        self._check_path_params(path)
        self._document_access()

    def _check_path_params(self, path: str) -> None:
        missing = set(re.findall(r"{([^}:]+)", path)) - _declared_path_params(self.dependant)
        if missing:
            raise TypeError(
                f"{self.name}: path parameters {sorted(missing)} are neither route arguments "
                "nor read by its resolver (declare them with @resolves(...))"
            )

    def _document_access(self) -> None:
        """Put the route's scope and rate-limit bucket into its OpenAPI operation."""
        if self.gate is None:
            return
        method = next(iter(self.methods or {"GET"}))
        self.openapi_extra = {
            **(self.openapi_extra or {}),
            "security": [{"bearer": []}, {"x-api-key": []}]
            if self.gate.api_key_header
            else [{"bearer": []}],
            "x-forge-scope": self.gate.scope,
            "x-forge-bucket": bucket_for(method, self.gate.bucket),
        }

    def _in_unit_of_work(self, endpoint: Endpoint) -> Endpoint:
        if getattr(endpoint, "forge_unit_of_work", False):
            self.gated = getattr(endpoint, "forge_gated", None)
            return endpoint
        signature, self.gated = _as_fastapi_sees_it(endpoint)
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def awaited(**values: Any) -> Response:
                access = self._access_in(values)
                response = self._render(await endpoint(**values), values)
                if access is not None:
                    await _settle(access, self._commit, access, response)
                return response

            wrapped: Endpoint = awaited
        else:

            @functools.wraps(endpoint)
            async def unit(**values: Any) -> Response:
                access = self._access_in(values)
                if access is None:
                    return self._render(await run_in_threadpool(endpoint, **values), values)
                return await access.database.run(self._route_and_commit, access, endpoint, values)

            wrapped = unit
        wrapped.__signature__ = signature  # type: ignore[attr-defined]
        wrapped.forge_unit_of_work = True  # type: ignore[attr-defined]
        wrapped.forge_gated = self.gated  # type: ignore[attr-defined]
        return wrapped

    def _access_in(self, values: dict[str, Any]) -> Access | None:
        """The request's Access, put into the route's arguments in place of the path
        parameters only its resolver reads."""
        gated = self.gated
        if gated is None:
            return None
        for name in gated.resolver_only:
            del values[name]
        access = values[gated.access_param] = _ACCESS.get()
        return access

    def _route_and_commit(
        self, access: Access, endpoint: Endpoint, values: dict[str, Any]
    ) -> Response:
        """Stages 7 and 8: the route, its response, and the commit, in one unit of work."""
        try:
            response = self._render(endpoint(**values), values)
        except BaseException as exc:
            _abort(access, exc)
            raise
        self._commit(access, response)
        return response

    def _commit(self, access: Access, response: Response) -> None:
        try:
            # An Idempotency-Key's outcome is stored in the route's own transaction.
            idempotency.settle_success(access, response)
            access.finish(failed=False)
        except BaseException as exc:
            _abort(access, exc)
            raise

    def _render(self, result: Any, values: dict[str, Any]) -> Response:
        """What FastAPI would send for `result`, rendered here so that it is stored and
        committed in the unit of work (with what the route set on its `response: Response`)."""
        if isinstance(result, Response):
            return result
        name = self.dependant.response_param_name
        temporal: Response | None = values.get(name) if name else None
        if isinstance(result, BaseModel) and type(result) is self.response_model:
            body = result.model_dump_json(by_alias=True).encode()
        elif self.response_field is not None:
            value, errors = self.response_field.validate(result, {}, loc=("response",))
            if errors:
                raise ResponseValidationError(errors=errors, body=result)
            body = self.response_field.serialize_json(value, by_alias=True)
        else:
            body = orjson.dumps(jsonable_encoder(result))
        status = (temporal.status_code if temporal else None) or self.status_code or 200
        response = Response(body, status_code=status, media_type="application/json")
        if temporal is not None:
            response.raw_headers.extend(
                (k, v) for k, v in temporal.raw_headers if k != b"content-length"
            )
        return response

    def get_route_handler(self) -> Handler:
        dependant = _solved_dependant(self)
        handler = (
            _path_params_handler(dependant)
            if _takes_path_params_only(dependant)
            else super().get_route_handler()
        )

        async def handle(request: Request) -> Response:
            path: str = request.scope["path"]
            if paths.table_of(request.app).shadowed(self, path):
                # e.g. PATCH /v1/api-keys/self: that path has GET only, it names no key.
                raise method_not_allowed(request.app, path)
            token = None
            try:
                if self.gated is not None:
                    # Stages 1–6, before FastAPI solves the route's parameters (and body).
                    access = await admit(request, self.gated.gate, request.path_params)
                    token = _ACCESS.set(access)
                return await handler(request)
            except idempotency.Replayed as replay:
                await abandon(request, replay)
                return replay.response
            except BaseException as exc:
                await abandon(request, exc)
                raise
            finally:
                if token is not None:
                    _ACCESS.reset(token)

        if self.gated is None:  # (called from APIRoute.__init__)
            return handle

        async def in_a_slot(request: Request) -> Response:
            # A unit of work holds a pooled connection across its hops; at most as many run
            # at once as the pool has connections, so none ever waits for one while holding
            # the worker thread another unit needs (which would stall both until timeout).
            slots: asyncio.Semaphore = request.app.state.unit_slots
            async with slots:
                return await handle(request)

        return in_a_slot
