"""The HTTP contract every request passes through, as one pure-ASGI middleware.

Request ids, `Forge-Version`, body size (413), content type (415), malformed JSON (400),
credentials outside the Authorization header (400), the headers every response carries, and
one JSON access-log line. Pure ASGI because this sits on the hot path of every request.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forge.errors import (
    ForgeError,
    Internal,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from forge.http import versions
from forge.http.context import REQUEST_ID
from forge.http.errors import Surfaces, error_body
from forge.ids import new_id
from forge.keys import material
from forge.logs import access_log

errors_log = logging.getLogger("forge.errors")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CREDENTIAL_NAMES = frozenset(
    {"api_key", "apikey", "api-key", "key", "token", "access_token", "auth", "authorization"}
)
CREDENTIAL_PREFIXES = ("mfk_", "mfs_", "mfo_")
# A key's public prefix (`mfk_live_b1c4…`, as the audit-log filter takes it) is no credential.
_PUBLIC_PREFIX = re.compile(r"^mf[ks]_(?:live|test)_[0-9A-Za-z]{0,4}…?$")

_CREDENTIALS_ELSEWHERE = (
    "Credentials are accepted only in the Authorization header (Bearer); "
    "a key sent in a {where} is refused and never used. Revoke it if it was logged."
)


# On every response: a create or roll carries a secret no cache may keep, and no body is ever
# to be sniffed into something other than its declared type.
ALWAYS_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


_KEY_AS_VALUE = (
    "This field holds what parses as a Forge API key; keys are never accepted as values "
    "(send one only in the Authorization header). Revoke it if it was exposed."
)


def _credential_in_query(pairs: list[tuple[str, str]]) -> bool:
    for name, value in pairs:
        if name.lower() in CREDENTIAL_NAMES:
            return True
        if value.startswith(CREDENTIAL_PREFIXES) and not _PUBLIC_PREFIX.match(value):
            return True
    return False


def _nul_in_query(pairs: list[tuple[str, str]]) -> str | None:
    """The first parameter holding NUL: no stored text holds one (PostgreSQL cannot), and a
    query comparing with one fails in the driver; the schema says so (forge.http.openapi)."""
    return next((name for name, value in pairs if "\x00" in name or "\x00" in value), None)


def _credential_in_body(document: Any) -> bool:
    return isinstance(document, dict) and any(
        str(name).lower() in CREDENTIAL_NAMES - {"key"} for name in document
    )


# Secret values are where credentials belong (sealed, write-only): a Forge key may be one.
_SECRET_VALUE_PATH = re.compile(r"/secrets(/[^/]+(/value)?|/import)?$")
_SECRET_VALUE_FIELDS = frozenset({"value", "dotenv"})


# A scanner reports leaked tokens: keys are that route's very payload.
_LEAK_REPORTS = "/v1/secret-scanning/"


def _key_as_value(path: str, document: Any) -> str | None:
    if path.startswith(_LEAK_REPORTS):
        return None
    exempt = _SECRET_VALUE_FIELDS if _SECRET_VALUE_PATH.search(path) else frozenset()
    return material.key_in_document(document, exempt)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


@dataclass(frozen=True)
class BodyLimit:
    """A route whose bodies may be larger (or must be smaller) than the global limit."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


class ContractMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        surfaces: Surfaces,
        body_limits: tuple[BodyLimit, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.surfaces = surfaces
        self.body_limits = body_limits

    def _body_limit(self, scope: Scope) -> int:
        for limit in self.body_limits:
            if scope["method"] == limit.method and limit.path.fullmatch(scope["path"]):
                return limit.max_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        token = REQUEST_ID.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        method = scope["method"]
        headers = Headers(scope=scope)
        started = time.perf_counter()
        status = 0
        version = versions.LATEST

        head = scope["method"] == "HEAD"
        if head:
            # HEAD is GET without the body (RFC 9110 §9.3.2): routes are declared for GET only.
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            if message["type"] == "http.response.start":
                status = message["status"]
                # Appended as raw pairs: no route sets these, and MutableHeaders rescans the
                # whole list on every assignment.
                extra = [
                    (b"request-id", request_id.encode()),
                    (b"forge-version", version.encode()),
                    *ALWAYS_HEADERS,
                ]
                extra += [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in state.get("response_headers", {}).items()
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            version = versions.resolve(headers.get("forge-version"))
            replay = await self._checked_body(scope, receive, headers)
            await self.app(scope, replay, send_with_headers)
        except ForgeError as err:
            await self._send_error(err, send_with_headers, scope)
        except Exception:
            # Logged with its traceback; the caller gets the request id only.
            errors_log.exception("unhandled error", extra={"request_id": request_id})
            if status == 0:
                await self._send_error(
                    Internal("Something went wrong on our side; quote the request id."),
                    send_with_headers,
                    scope,
                )
        finally:
            self._log(method, scope, state, status, started, request_id)
            REQUEST_ID.reset(token)

    async def _checked_body(self, scope: Scope, receive: Receive, headers: Headers) -> Receive:
        query: bytes = scope.get("query_string", b"")
        if query:  # most requests have none: nothing to parse
            self._check_query(query)
        if scope["method"] not in BODY_METHODS:
            return receive
        max_bytes = self._body_limit(scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise PayloadTooLarge(f"Request bodies are limited to {max_bytes} bytes here.")
        body = await self._read_body(receive, max_bytes)
        if body.strip():
            if not _is_json(headers.get("content-type", "")):
                raise UnsupportedMediaType(
                    "Request bodies must be JSON; send Content-Type: application/json."
                )
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise InvalidRequest("The request body is not valid JSON.") from None
            if _credential_in_body(document):
                raise InvalidRequest(_CREDENTIALS_ELSEWHERE.format(where="request body"))
            where = _key_as_value(scope["path"], document)
            if where is not None:
                raise InvalidRequest(_KEY_AS_VALUE, param=where)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    def _check_query(query: bytes) -> None:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        if _credential_in_query(pairs):
            raise InvalidRequest(_CREDENTIALS_ELSEWHERE.format(where="query string"))
        holding_nul = _nul_in_query(pairs)
        if holding_nul is not None:
            raise InvalidRequest("Query parameters never hold NUL (%00).", param=holding_nul)

    @staticmethod
    async def _read_body(receive: Receive, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"Request bodies are limited to {max_bytes} bytes here.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _send_error(self, err: ForgeError, send: Send, scope: Scope) -> None:
        body = error_body(err, self.surfaces(scope))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(
        method: str,
        scope: Scope,
        state: dict[str, Any],
        status: int,
        started: float,
        request_id: str,
    ) -> None:
        # The path only: query strings may carry things that must never reach a log.
        access_log.write(
            {
                "method": method,
                "path": material.redact(scope["path"]),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "request_id": request_id,
                "key_prefix": state.get("key_prefix"),
            }
        )
