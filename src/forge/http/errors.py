"""The one error renderer: `ForgeError` → HTTP response, in the shape of the request's surface.

Two surfaces: `/v1` answers `{"error": {type, code, message, param}, "request_id"}`; the
team/site/env path surface (`/{o}/{p}/envs/{envName}/…`) answers `{error, code}`. The surface
is a property of the matched route (`ForgeRoute.error_surface`), never guessed from the raw
path; the middleware, the exception handlers and the idempotency store all render through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope

from forge.errors import (
    ForgeError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ValidationFailed,
)
from forge.http import paths
from forge.http.context import current_request_id
from forge.keys import material


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    code: str
    message: str
    param: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
    request_id: str


# What every request may be answered before or around its route, whatever the operation: the
# contract middleware's refusals, the pipeline's, and `forge serve`'s own (431, and 503 at its
# connection limit). An operation's own answers (412 for an If-Match) are added by
# `forge.http.openapi`; a method a path lacks is its `MethodNotAllowed` response.
SERVER_ANSWERS = (
    (431, "header_fields_too_large: the request head is over FORGE_MAX_HEADER_BYTES"),
    (
        503,
        "service_unavailable: the database did not answer, or the process holds its maximum "
        "of connections; Retry-After: 1",
    ),
)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "invalid_request (also a malformed Idempotency-Key) or invalid_version"),
        (401, "authentication: missing, malformed, unknown, expired or revoked key"),
        (403, "insufficient_scope, ip_not_allowed or forbidden"),
        (404, "not_found: absent, or outside the key's team, constraint or mode"),
        (409, "conflict, or idempotency_in_progress (with Retry-After)"),
        (413, "payload_too_large"),
        (415, "unsupported_media_type"),
        (422, "validation_error, naming the param; or idempotency_key_reused"),
        (429, "rate_limited, naming the bucket, with Retry-After"),
        (500, "internal"),
        *SERVER_ANSWERS,
    )
}
# The probes take no key and no body, but the contract still reads `Forge-Version` and refuses
# a key in the query string.
PROBE_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "invalid_version, or invalid_request: a key in the query string"),
        *SERVER_ANSWERS,
    )
}


@dataclass(frozen=True)
class Surface:
    """A family of routes sharing one error shape: how an error is rendered, and the error
    responses each of its operations documents (`ForgeRoute` declares them on every route)."""

    name: str
    shape: Callable[[ForgeError], dict[str, Any]]
    responses: dict[int | str, dict[str, Any]] = field(
        default_factory=dict, hash=False, compare=False
    )


def _v1_shape(err: ForgeError) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "type": err.type,
        "code": err.code,
        "message": err.message,
        "param": err.param,
        **err.extra,
    }
    return {"error": detail, "request_id": current_request_id()}


V1 = Surface("v1", _v1_shape, ERROR_RESPONSES)


def surface_of_route(route: object) -> Surface:
    surface = getattr(route, "error_surface", V1)
    return surface if isinstance(surface, Surface) else V1


class Surfaces:
    """The surface of a request: its matched route's, also for errors raised before routing
    (the middleware's 400/413/415), when the app's own routes are matched here, in order."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._routes: list[tuple[re.Pattern[str], Surface]] | None = None

    def _compiled(self) -> list[tuple[re.Pattern[str], Surface]]:
        if self._routes is None:  # built on first use: every router is included by then
            self._routes = [
                (compile_path(context.path)[0], surface_of_route(context.original_route))
                for context in iter_route_contexts(self._app.routes)
                if context.path is not None
            ]
        return self._routes

    def __call__(self, scope: Scope) -> Surface:
        route = scope.get("route")
        if route is not None:
            return surface_of_route(route)
        path = scope["path"]
        return next((surface for regex, surface in self._compiled() if regex.match(path)), V1)


def error_body(err: ForgeError, surface: Surface = V1) -> bytes:
    """The error as sent; a key pasted into a path or field is never echoed back."""
    body = orjson.dumps(surface.shape(err))
    return material.redact(body.decode()).encode() if b"mf" in body else body


def error_response(err: ForgeError, surface: Surface = V1) -> Response:
    return Response(
        error_body(err, surface),
        status_code=err.status,
        headers=err.headers,
        media_type="application/json",
    )


def _param_of(loc: tuple[Any, ...]) -> str | None:
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else [str(p) for p in loc]
    )
    return ".".join(parts) or None


def _validation_error(exc: RequestValidationError) -> ForgeError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return InvalidRequest("The request body is not valid JSON.")
    listed = [
        {"param": _param_of(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
        for e in errors
    ]
    first = listed[0]
    where = first["param"] or "body"
    return ValidationFailed(
        f"{where}: {first['message']}", param=first["param"], extra={"errors": listed}
    )


def method_not_allowed(app: FastAPI, path: str) -> MethodNotAllowed:
    """The 405 of a path: `Allow` lists exactly its methods (forge.http.paths)."""
    allowed = ", ".join(paths.table_of(app).allowed(path))
    return MethodNotAllowed(f"This route accepts {allowed}.", headers={"Allow": allowed})


def _http_error(request: Request, exc: StarletteHTTPException) -> ForgeError:
    if exc.status_code == 404:
        return NotFound("No such route.")
    if exc.status_code == 405:
        return method_not_allowed(request.app, _path(request))
    return InvalidRequest(str(exc.detail))


def _path(request: Request) -> str:
    """The path as routed: `request.url.path` goes through urlsplit, which silently drops TAB,
    CR and LF, so a segment holding one would be matched against the wrong error shape."""
    path: str = request.scope["path"]
    return path


async def _on_forge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ForgeError)
    return error_response(exc, surface_of_route(request.scope.get("route")))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(_validation_error(exc), surface_of_route(request.scope.get("route")))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(_http_error(request, exc), surface_of_route(request.scope.get("route")))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ForgeError, _on_forge_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
