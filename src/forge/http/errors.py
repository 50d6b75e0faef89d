"""The single translation of errors into HTTP responses, shared by handlers and middleware."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from forge.errors import (
    ForgeError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ValidationFailed,
)
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


ShapeRenderer = Callable[[ForgeError], dict[str, Any]]
# Paths whose errors take another documented shape (the seed-002 surface's `{error, code}`),
# chosen here so every error on them, from the middleware or a route, is rendered alike.
_SHAPES: dict[str, tuple[re.Pattern[str], ShapeRenderer]] = {}


def register_error_shape(path_pattern: str, render: ShapeRenderer) -> None:
    _SHAPES[path_pattern] = (re.compile(path_pattern), render)


def error_body(err: ForgeError, path: str = "") -> bytes:
    """The error as sent; a key pasted into a path or field is never echoed back."""
    body = _render(err, path)
    return material.redact(body.decode()).encode() if b"mf" in body else body


def _render(err: ForgeError, path: str) -> bytes:
    for pattern, render in _SHAPES.values():
        if pattern.match(path):
            return orjson.dumps(render(err))
    detail: dict[str, Any] = {
        "type": err.type,
        "code": err.code,
        "message": err.message,
        "param": err.param,
        **err.extra,
    }
    return orjson.dumps({"error": detail, "request_id": current_request_id()})


def error_response(err: ForgeError, path: str = "") -> Response:
    return Response(
        error_body(err, path),
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


def _route_patterns(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each documented path as a regex with its methods, built once per app."""
    cached: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "route_patterns", None
    )
    if cached is None:
        cached = []
        for path, operations in app.openapi()["paths"].items():
            pattern = re.compile("^" + re.sub(r"{[^}]+}", "[^/]+", path) + "$")
            methods = {m.upper() for m in operations}
            cached.append((pattern, methods | ({"HEAD"} if "GET" in methods else set())))
        app.state.route_patterns = cached
    return cached


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route accepts on this path (several routes may share a path)."""
    return sorted(
        {m for pattern, methods in _route_patterns(app) if pattern.match(path) for m in methods}
    )


def _http_error(request: Request, exc: StarletteHTTPException) -> ForgeError:
    if exc.status_code == 404:
        return NotFound("No such route.")
    if exc.status_code == 405:
        allowed = ", ".join(allowed_methods(request.app, _path(request)))
        return MethodNotAllowed(f"This route accepts {allowed}.", headers={"Allow": allowed})
    return InvalidRequest(str(exc.detail))


def _path(request: Request) -> str:
    """The path as routed: `request.url.path` goes through urlsplit, which silently drops TAB,
    CR and LF, so a segment holding one would be matched against the wrong error shape."""
    path: str = request.scope["path"]
    return path


async def _on_forge_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ForgeError)
    return error_response(exc, _path(request))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(_validation_error(exc), _path(request))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(_http_error(request, exc), _path(request))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ForgeError, _on_forge_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


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
    )
}
