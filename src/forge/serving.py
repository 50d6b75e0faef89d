"""How `forge serve` runs uvicorn: the options and the connection guard of every server process.

Forge alone decides who the client is (from `FORGE_TRUSTED_PROXIES`, forge.http.client_ip), so
uvicorn's own proxy-header handling is off: by default it believes `X-Forwarded-For` from
127.0.0.1 and rewrites the client address before Forge could look.

httptools has no limit on a request head and uvicorn no deadline for one: a 64 MiB header
parsed for 15 s on the event loop, and a half-sent head held its connection forever. The guard
below is uvicorn's httptools protocol plus those limits, enforced while bytes arrive.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from forge.config import Settings
from forge.errors import ForgeError, HeaderFieldsTooLarge, ServiceUnavailable
from forge.http.context import REQUEST_ID
from forge.http.errors import error_body
from forge.ids import new_id

_REASONS = {431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


# How long a refused connection's further input is read and dropped before it is closed.
LINGER_SECONDS = 2.0


class _HeadTooLarge(Exception):
    """Raised inside a parser callback; httptools wraps it, and uvicorn answers its 400 hook."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One connection: its request heads are bounded in size and in time, and the process
    holds at most `max_connections` connections."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        settings: Settings,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head = settings.max_header_bytes
        self.head_timeout = settings.header_timeout_seconds
        self.max_connections = settings.max_connections
        self.awaiting_head = True  # between requests, or inside a head not yet complete
        self.head_bytes = 0  # bytes received while awaiting a head
        self.head_size = 0  # the current head's request target and headers, as parsed
        self.head_too_large = False
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False  # answered by the server itself: what still arrives is discarded

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.max_connections:
            self._refuse(ServiceUnavailable("This server holds its maximum of connections; retry."))
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.awaiting_head:
            self.head_bytes += len(data)
        super().data_received(data)
        if self.awaiting_head and self.head_bytes > self.max_head:
            # All of it is head: the head is still incomplete.
            self.head_too_large = True
            self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        if self.transport.is_closing():
            return
        if self.head_too_large:
            self._refuse(
                HeaderFieldsTooLarge(
                    f"Request headers are limited to {self.max_head} bytes in total."
                )
            )
            return
        super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_size = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        self.head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.awaiting_head = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.awaiting_head and not self.transport.is_closing():
            self._arm_head_timer()

    def _count(self, size: int) -> None:
        self.head_size += size
        if self.head_size > self.max_head:
            self.head_too_large = True
            raise _HeadTooLarge

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        """No complete request head within the deadline: close, whatever arrived so far."""
        self.head_timer = None
        if self.awaiting_head and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, err: ForgeError) -> None:
        """Answer in the error shape (no app runs: this is the server itself) and close."""
        token = REQUEST_ID.set(new_id("req"))
        try:
            body = error_body(err)
            request_id = REQUEST_ID.get().encode()
        finally:
            REQUEST_ID.reset(token)
        head = b"HTTP/1.1 %d %s\r\n" % (err.status, _REASONS[err.status])
        head += b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
        head += b"request-id: " + request_id + b"\r\ncache-control: no-store\r\n"
        head += b"x-content-type-options: nosniff\r\nconnection: close\r\n\r\n"
        self.transport.write(head + body)
        self._close_lingering()

    def _close_lingering(self) -> None:
        """Close after the answer, without losing it. Closing a socket with unread input makes
        the kernel send a reset, which can destroy the answer before the client reads it (a
        client still sending its huge head saw no 431). So: the answer, then our end of the
        stream (FIN), and what still arrives is read and dropped for a moment before closing."""
        self.refused = True
        self._cancel_head_timer()
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


BACKLOG = 2048  # uvicorn's own default


@dataclass(frozen=True)
class Listening:
    """The sockets of `forge serve`, bound and listening before it starts anything or says it
    listens: a busy address ends the run at once, naming it (uvicorn binds only once the app,
    the worker and the edge are up, after "listening" was printed)."""

    host: str
    api: socket.socket
    edge: socket.socket | None  # None: no edge beside the API (--no-edge)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`, inheritable by `--workers` processes; OSError when
    the address is taken or cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def uvicorn_options(host: str, port: int, workers: int, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`, the same for one process or `--workers N`."""
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "loop": "uvloop",
        "http": functools.partial(GuardedHttpToolsProtocol, settings=settings),
        "timeout_keep_alive": settings.keepalive_timeout_seconds,
    }
