"""The route class every Forge router uses: it ends the request's unit of work.

The session a route used is committed after the route returns and before the response is sent,
so a client that reads right after a write always sees it; a route that raised is rolled back.
(A plain dependency does this too, but a generator dependency costs ~40 µs per request in
FastAPI's exit-stack machinery, measured, and most requests never open a session.)
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from forge.http import idempotency
from forge.http.auth import bucket_for, finish_request


def _scoped_dependency(dependant: Dependant) -> Any:
    for sub in dependant.dependencies:
        if hasattr(sub.call, "forge_scope"):
            return sub.call
        found = _scoped_dependency(sub)
        if found is not None:
            return found
    return None


class ForgeRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self._document_access()

    def _document_access(self) -> None:
        """Put the route's scope and rate-limit bucket into its OpenAPI operation."""
        scoped = _scoped_dependency(self.dependant)
        if scoped is None:
            return
        method = next(iter(self.methods or {"GET"}))
        self.openapi_extra = {
            **(self.openapi_extra or {}),
            "security": [{"bearer": []}, {"x-api-key": []}]
            if getattr(scoped, "forge_api_key_header", False)
            else [{"bearer": []}],
            "x-forge-scope": scoped.forge_scope,
            "x-forge-bucket": bucket_for(method, scoped.forge_bucket),
        }

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
                # An Idempotency-Key's outcome is stored in the route's own transaction.
                idempotency.settle_success(request, response)
                finish_request(request, failed=False)
            except idempotency.Replayed as replay:
                return replay.response
            except BaseException as exc:
                finish_request(request, failed=True)
                idempotency.settle_failure(request, exc)
                raise
            return response

        return handle
