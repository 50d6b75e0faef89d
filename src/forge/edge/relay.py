"""One trip to the origin: send the request, then store the answer and send it from the cache,
or stream it through (uncacheable, or larger than the environment's `max_object_bytes`)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from time import monotonic
from typing import TYPE_CHECKING

import httpx

from forge.edge import cachekey, policy, responses
from forge.edge.config import EnvConfig
from forge.edge.origin import OriginError, upstream_headers
from forge.edge.request import Request
from forge.edge.store import Entry

if TYPE_CHECKING:
    from forge.edge.runtime import Connection, Edge

log = logging.getLogger("forge.edge")

REVALIDATED, STALE = b"REVALIDATED", b"STALE"


def _lower_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in raw:
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _full_key(host: bytes, request: Request, headers: dict[str, list[str]]) -> bytes:
    """The cache key of this request under the Vary of its response."""
    primary = cachekey.primary_key(host, request.target)
    vary = policy.vary_names(headers)
    return cachekey.variant_key(primary, vary, request.headers) if vary else primary


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


class Relay:
    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    async def fetch(
        self,
        conn: Connection | None,
        request: Request,
        env: EnvConfig,
        host: bytes,
        stale: Entry | None,
        label: bytes,
        *,
        store: bool,
    ) -> None:
        """Fetch from the origin and answer `conn` (None: a background revalidation).
        With `stale`, the request is conditional on it and a 304 refreshes it."""
        assert env.origin_url is not None
        cacheable = request.cacheable_method
        headers = upstream_headers(
            request.raw_headers,
            client_ip=request.client_ip,
            host=request.headers.get(b"host", b""),
            drop_conditionals=cacheable and not self.edge.forwards_conditionals,
        )
        if stale is not None:
            headers += _validators(stale)
        method = b"GET" if cacheable else request.method
        try:
            response = await self.edge.origins.send(
                env.origin_url, method, request.target, headers, request.body
            )
        except OriginError as err:
            if stale is not None and monotonic() <= stale.expires + stale.stale_if_error:
                self._send(conn, stale, request, STALE)
                return
            if conn is not None:
                conn.write(
                    responses.plain(
                        err.status, err.message, label=label, keep_alive=request.keep_alive
                    )
                )
            return
        try:
            await self._answer(conn, request, env, host, stale, label, store, response)
        finally:
            await response.aclose()

    def _send(self, conn: Connection | None, entry: Entry, request: Request, label: bytes) -> None:
        self.edge.send_entry(
            conn, entry, request.method, request.headers, label, request.keep_alive, monotonic()
        )

    async def _answer(
        self,
        conn: Connection | None,
        request: Request,
        env: EnvConfig,
        host: bytes,
        stale: Entry | None,
        label: bytes,
        store: bool,
        response: httpx.Response,
    ) -> None:
        status = response.status_code
        raw = list(response.headers.raw)
        headers = _lower_headers(raw)
        now = monotonic()
        if stale is not None and status == 304:
            verdict = policy.judge(200, headers, env.default_ttl, time.time())
            fresh = verdict.freshness
            if fresh is not None:
                stale.refresh(now, fresh.ttl, fresh.stale_while_revalidate, fresh.stale_if_error)
            else:
                stale.refresh(now, stale.expires - stale.stored_at, 0.0, 0.0)
            self._send(conn, stale, request, REVALIDATED)
            return
        if stale is not None and status >= 500 and now <= stale.expires + stale.stale_if_error:
            self._send(conn, stale, request, STALE)
            return
        if stale is not None:
            self.edge.store.remove(stale.key)
        plan = self._plan(request, env, host, status, raw, headers) if store else None
        body = response.aiter_raw()
        key = _full_key(host, request, headers) if request.cacheable_method else None
        digest = None if key is None else cachekey.digest(key)
        if plan is None:
            await self._stream(conn, request, status, raw, digest, label, body, [])
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in body:
                chunks.append(chunk)
                size += len(chunk)
                if size > env.max_object_bytes:
                    await self._stream(conn, request, status, raw, plan.digest, label, body, chunks)
                    return
        except httpx.HTTPError:
            if conn is not None:
                conn.write(
                    responses.plain(
                        502,
                        "Bad gateway: the origin's answer was cut short.",
                        label=label,
                        keep_alive=request.keep_alive,
                    )
                )
            return
        self._send(conn, self._store(plan, b"".join(chunks)), request, label)

    def _plan(
        self,
        request: Request,
        env: EnvConfig,
        host: bytes,
        status: int,
        raw: list[tuple[bytes, bytes]],
        headers: dict[str, list[str]],
    ) -> Plan | None:
        """How this response is to be stored once its body is in, or None if it is not."""
        verdict = policy.judge(
            status, headers, env.default_ttl, time.time(), b"authorization" in request.headers
        )
        fresh = verdict.freshness
        if fresh is None:
            return None
        length = _first(headers, "content-length")
        if length is not None and length.isdigit() and int(length) > env.max_object_bytes:
            return None
        try:
            tags = policy.parse_tags(headers)
        except policy.TagError as err:
            log.warning(
                "response not cached: its cache tags are refused",
                extra={"environment": env.id, "path": request.path[:200], "problem": str(err)},
            )
            return None
        vary = policy.vary_names(headers)
        etag = _first(headers, "etag")
        age = _first(headers, "age") or ""
        return Plan(
            env_id=env.id,
            path=request.path,
            primary=cachekey.primary_key(host, request.target),
            key=(key := _full_key(host, request, headers)),
            digest=cachekey.digest(key),
            vary=vary,
            status=status,
            headers=responses.forwardable(raw),
            is_page=(_first(headers, "content-type") or "").strip().lower().startswith("text/html"),
            tags=tags,
            freshness=fresh,
            initial_age=float(age) if age.isdigit() else 0.0,
            etag=etag.encode("latin-1") if etag else None,
            last_modified=policy.parse_http_date(_first(headers, "last-modified")),
        )

    def _store(self, plan: Plan, body: bytes) -> Entry:
        headers = [*plan.headers, (b"Forge-Cache-Hash", plan.digest.hex().encode())]
        framing = None if plan.status in responses.NO_BODY_STATUSES else len(body)
        entry = Entry(
            key=plan.key,
            digest=plan.digest,
            env_id=plan.env_id,
            path=plan.path,
            is_page=plan.is_page,
            tags=plan.tags,
            status=plan.status,
            head=responses.head(
                plan.status,
                headers,
                framing=None if framing is None else responses.content_length(framing),
            ),
            body=body,
            stored_at=monotonic(),
            ttl=plan.freshness.ttl,
            initial_age=plan.initial_age,
            stale_while_revalidate=plan.freshness.stale_while_revalidate,
            stale_if_error=plan.freshness.stale_if_error,
            etag=plan.etag,
            last_modified=plan.last_modified,
            primary=plan.primary if plan.vary else None,
        )
        store = self.edge.store
        if not plan.vary:
            store.forget_variants(plan.primary)
        store.put(entry, plan.vary)
        return entry

    async def _stream(
        self,
        conn: Connection | None,
        request: Request,
        status: int,
        raw: list[tuple[bytes, bytes]],
        digest: bytes | None,
        label: bytes,
        body: AsyncIterator[bytes],
        prefix: list[bytes],
    ) -> None:
        """Pass the response through without storing it (chunked when its length is unknown)."""
        if conn is None:
            return
        headers = responses.forwardable(raw)
        if digest is not None:
            headers.append((b"Forge-Cache-Hash", digest.hex().encode()))
        lengths = [v for n, v in raw if n.lower() == b"content-length"]
        chunked_upstream = any(n.lower() == b"transfer-encoding" for n, _ in raw)
        no_body = status in responses.NO_BODY_STATUSES or status < 200
        if no_body:
            framing = None
        elif lengths and not chunked_upstream:
            framing = b"Content-Length: " + lengths[0]
        else:
            framing = responses.CHUNKED
        conn.write(
            responses.head(status, headers, framing=framing)
            + responses.tail(0, label, request.keep_alive)
        )
        if no_body or request.method == b"HEAD":
            return
        chunked = framing == responses.CHUNKED
        try:
            for chunk in prefix:
                conn.write(_frame(chunk) if chunked else chunk)
            async for chunk in body:
                if conn.closed:
                    return
                conn.write(_frame(chunk) if chunked else chunk)
                await conn.drain()
        except httpx.HTTPError:
            conn.abort()  # the head is sent: cutting the connection is the only way to say so
            return
        if chunked:
            conn.write(b"0\r\n\r\n")


@dataclass(frozen=True)
class Plan:
    env_id: str
    path: str
    primary: bytes
    key: bytes
    digest: bytes
    vary: tuple[str, ...]
    status: int
    headers: list[tuple[bytes, bytes]]
    is_page: bool
    tags: tuple[str, ...]
    freshness: policy.Freshness
    initial_age: float
    etag: bytes | None
    last_modified: float | None


def _frame(chunk: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunk else b""


def _validators(entry: Entry) -> list[tuple[bytes, bytes]]:
    validators: list[tuple[bytes, bytes]] = []
    if entry.etag is not None:
        validators.append((b"If-None-Match", entry.etag))
    if entry.last_modified is not None:
        since = formatdate(entry.last_modified, usegmt=True)
        validators.append((b"If-Modified-Since", since.encode()))
    return validators
