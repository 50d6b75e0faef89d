"""The edge's HTTP/1.1 server: an asyncio Protocol with httptools.

This is the one place Forge writes its own HTTP handling, because the cache hit is the edge's
hot path (measured in bench/edge_hits.py): a fresh hit is answered inside `data_received`
from pre-built bytes, with no task, no framework and no copy of the request. Everything else
(misses, revalidation, other methods, redirects) goes to `Edge.serve` as a task, one request
of a connection at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING

import httptools

from forge.edge import cachekey, responses
from forge.edge.config import EnvConfig
from forge.edge.request import Request

if TYPE_CHECKING:
    from forge.edge.runtime import Edge

log = logging.getLogger("forge.edge")

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
_HIT = b"HIT"
_BYPASS = b"BYPASS"
# The end of a keep-alive HIT's head for each age up to a day, built once.
_HIT_TAILS = tuple(responses.tail(age, _HIT, True) for age in range(86400))


class EdgeProtocol(asyncio.Protocol):
    def __init__(self, edge: Edge) -> None:
        self.edge = edge
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client_ip = ""
        self.closed = False
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._raw: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._busy = False
        self._queue: deque[Request] = deque()
        self._writable: asyncio.Event | None = None

    # asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self.client_ip = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
        self.edge.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.edge.connections.discard(self)
        if self._writable is not None:
            self._writable.set()

    def pause_writing(self) -> None:
        self._writable = asyncio.Event()

    def resume_writing(self) -> None:
        if self._writable is not None:
            self._writable.set()
            self._writable = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(501, "This edge does not upgrade connections.")
        except httptools.HttpParserError:
            self._refuse(400, "Bad request: the request is not valid HTTP/1.1.")
        except _TooLarge as err:
            self._refuse(err.status, err.message)

    # httptools callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._raw = []
        self._head_bytes = 0
        if self._body:
            self._body = []
            self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > 8192:
            raise _TooLarge(414, "URI too long: at most 8,192 bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEAD_BYTES:
            raise _TooLarge(431, "Request header fields too large: at most 64 KiB.")
        self._raw.append((name, value))
        lower = name.lower()
        seen = self._headers.get(lower)
        self._headers[lower] = value if seen is None else seen + b", " + value

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > MAX_BODY_BYTES:
            raise _TooLarge(413, "Request body too large: at most 64 MiB.")
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        keep_alive = self.parser.should_keep_alive()
        if self._busy:
            self._queue.append(self._request(method, keep_alive))
            return
        config = self.edge.config
        host = self._headers.get(b"host", b"")
        env = config.hosts.get(host)  # the common case: the hostname exactly as configured
        if env is None:
            routed = config.route(host)
            if routed is not None:
                host, env = routed
        if env is not None and self._answer_now(method, keep_alive, host, env):
            if not keep_alive:
                self.close()
            return
        self._start(self._request(method, keep_alive))

    # Requests ---------------------------------------------------------------------------

    def _request(self, method: bytes, keep_alive: bool) -> Request:
        return Request(
            method=method,
            target=self._url,
            headers=self._headers,
            raw_headers=self._raw,
            body=b"".join(self._body),
            keep_alive=keep_alive,
            client_ip=self.client_ip,
        )

    def _answer_now(self, method: bytes, keep_alive: bool, host: bytes, env: EnvConfig) -> bool:
        """Redirects and fresh cache hits, answered without leaving the callback."""
        edge = self.edge
        if env.redirects is not None and edge.redirect(self, env, self._url, keep_alive):
            return True
        if method != b"GET" and method != b"HEAD":
            return False
        now = monotonic()
        if now - edge.last_contact > edge.lease:
            return False
        store = edge.store
        key = b"GET\n" + host + b"\n" + self._url  # cachekey.primary_key, inlined
        if store.variants:
            varying = store.variants.get(key)
            if varying is not None:
                key = cachekey.variant_key(key, varying[0], self._headers)
        entry = store.entries.get(key)
        if entry is None or now >= entry.expires or entry.soft_purged or not entry.live:
            return False
        store.entries.move_to_end(key)
        entry.counters.hits += 1
        headers = self._headers
        if (
            method == b"HEAD"
            or not keep_alive
            or b"if-none-match" in headers
            or b"if-modified-since" in headers
        ):
            edge.send_entry(self, entry, method, headers, _HIT, keep_alive, now)
            return True
        age = int(now - entry.stored_at + entry.initial_age)
        tail = _HIT_TAILS[age] if age < len(_HIT_TAILS) else responses.tail(age, _HIT, True)
        if self.transport is not None and not self.closed:
            self.transport.write(entry.head + tail + entry.body)
        return True

    def _start(self, request: Request) -> None:
        self._busy = True
        if self.transport is not None:
            self.transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._serve(request))
        self.edge.tasks.add(task)
        task.add_done_callback(self.edge.tasks.discard)

    async def _serve(self, request: Request) -> None:
        try:
            await self.edge.serve(self, request)
        except Exception:
            log.exception("edge request failed", extra={"target": request.target[:200].decode()})
            self.abort()
            return
        self._finish(request.keep_alive)

    def _finish(self, keep_alive: bool) -> None:
        self._busy = False
        if not keep_alive:
            self.close()
            return
        while self._queue and not self._busy and not self.closed:
            self._start(self._queue.popleft())
        if not self._busy and self.transport is not None and not self.closed:
            self.transport.resume_reading()

    # Output -----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    async def drain(self) -> None:
        if self._writable is not None:
            await self._writable.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _refuse(self, status: int, message: str) -> None:
        self.write(responses.plain(status, message, label=_BYPASS, keep_alive=False))
        self.close()


class _TooLarge(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
