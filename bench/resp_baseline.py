"""The hand-written RESP client the limiter used before redis.asyncio: the baseline of
`bench/ratelimit_clients.py`, kept here only to be measured against (Forge does not import it).

It runs one Lua script. Each request queues its EVALSHA and awaits its reply; everything queued
during one turn of the event loop goes out in one write (pipelining), and replies resolve the
waiting requests in order. Each request still makes exactly one round trip.

It speaks just enough RESP2: AUTH/SELECT at connect, EVALSHA (EVAL once if the server lost
the script), replies of integers, strings, errors and arrays. One connection per process (per
event loop). Any failure (refused, reset, no reply within the timeout, garbage) fails every
waiting request with RedisFault and drops the connection; the next call reconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from typing import Any

from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import RedisError


class RedisFault(RedisError):
    """Redis could not be reached, or answered something unusable (a RedisError, so the
    limiter's fallback treats it as it treats redis-py's own)."""


class ServerError(RedisFault):
    """An error reply (`-ERR …`)."""


class _Incomplete(Exception):
    pass


def encode(*parts: str | int | bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(map(_bulk, parts))


def _bulk(part: str | int | bytes) -> bytes:
    raw = part if isinstance(part, bytes) else str(part).encode()
    return b"$%d\r\n%s\r\n" % (len(raw), raw)


def parse(buffer: bytes, at: int) -> tuple[Any, int]:
    """One reply starting at `at`: (value, position after it); _Incomplete if cut short."""
    if buffer.startswith(b"*3\r\n:", at):  # the script's answer: three integers
        end = buffer.find(b"\r\n", buffer.find(b"\r\n", buffer.find(b"\r\n", at + 4) + 2) + 2)
        if end >= 0 and buffer.count(b"\r\n:", at + 2, end) == 3:
            first, second, third = buffer[at + 5 : end].split(b"\r\n:")
            return [int(first), int(second), int(third)], end + 2
    end = buffer.find(b"\r\n", at)
    if end < 0:
        raise _Incomplete
    kind, rest = buffer[at : at + 1], buffer[at + 1 : end]
    at = end + 2
    if kind == b":":
        return int(rest), at
    if kind == b"+":
        return rest.decode(), at
    if kind == b"-":
        return ServerError(rest.decode(errors="replace")), at
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None, at
        if len(buffer) < at + size + 2:
            raise _Incomplete
        return buffer[at : at + size], at + size + 2
    if kind == b"*":
        items = []
        for _ in range(int(rest)):
            item, at = parse(buffer, at)
            items.append(item)
        return items, at
    raise ValueError(f"unexpected Redis reply {kind!r}")


class _Connection(asyncio.Protocol):
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.outgoing: list[bytes] = []
        self.buffer = b""
        self.watching = False
        self.loop = asyncio.get_running_loop()

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(command)
        self.waiting.append(future)
        return future

    def _flush(self) -> None:
        if not self.outgoing:
            return
        if self.transport is None:
            self.fail(RedisFault("not connected"))
            return
        self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()
        if not self.watching:  # one timer at a time, not one per write
            self.watching = True
            self.loop.call_later(self.timeout, self._watch, self.waiting[-1])

    def _watch(self, last_sent: asyncio.Future[Any]) -> None:
        """Fail everything if a reply written a timeout ago has not come back."""
        self.watching = False
        if not last_sent.done():
            self.fail(RedisFault("no reply within the timeout"))
        elif self.waiting:
            self.watching = True
            self.loop.call_later(self.timeout, self._watch, self.waiting[-1])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        at = 0
        try:
            while at < len(self.buffer) and self.waiting:
                reply, at = parse(self.buffer, at)
                future = self.waiting.popleft()
                if not future.done():
                    future.set_result(reply)
        except _Incomplete:
            pass
        except ValueError as err:
            self.fail(RedisFault(str(err)))
            return
        self.buffer = self.buffer[at:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisFault("connection lost"))

    def fail(self, fault: RedisFault) -> None:
        transport, self.transport = self.transport, None
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(fault)
        self.outgoing.clear()
        if transport is not None and not self.loop.is_closed():
            transport.close()


class ScriptClient:
    def __init__(self, url: str, script: str, timeout: float) -> None:
        self._params: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self._script = script.encode()
        self._sha = hashlib.sha1(self._script, usedforsecurity=False).hexdigest()
        self._evalsha = _bulk("EVALSHA") + _bulk(self._sha)
        self._timeout = timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    async def __call__(self, keys: list[str], args: list[str | int]) -> Any:
        connection = await self._connected()
        count = 3 + len(keys) + len(args)
        head = b"*%d\r\n%s%s" % (count, self._evalsha, _bulk(len(keys)))
        reply = await connection.send(head + b"".join(map(_bulk, (*keys, *args))))
        if isinstance(reply, ServerError) and str(reply).startswith("NOSCRIPT"):
            reply = await connection.send(encode("EVAL", self._script, len(keys), *keys, *args))
        if isinstance(reply, ServerError):
            raise reply
        return reply

    async def _connected(self) -> _Connection:
        connection = self._connection
        if (
            connection is not None
            and connection.alive
            and connection.loop is asyncio.get_running_loop()
        ):
            return connection
        if self._connecting is None or self._connecting.get_loop() is not (
            asyncio.get_running_loop()
        ):
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        params = self._params
        kind = params.get("connection_class")
        factory = lambda: _Connection(self._timeout)  # noqa: E731
        try:
            if kind is UnixDomainSocketConnection:
                opening = loop.create_unix_connection(factory, params["path"])
            else:
                context = ssl.create_default_context() if kind is SSLConnection else None
                opening = loop.create_connection(
                    factory, params.get("host", "localhost"), params.get("port", 6379), ssl=context
                )
            _, connection = await asyncio.wait_for(opening, self._timeout)
        except (OSError, TimeoutError) as err:
            raise RedisFault(f"cannot connect: {type(err).__name__}") from None
        for command in self._handshake():
            reply = await connection.send(command)
            if isinstance(reply, ServerError):
                connection.fail(reply)
                raise reply
        self._connection = connection
        return connection

    def _handshake(self) -> list[bytes]:
        commands = []
        password = self._params.get("password")
        if password:
            username = self._params.get("username")
            auth = ("AUTH", username, password) if username else ("AUTH", password)
            commands.append(encode(*auth))
        if self._params.get("db"):
            commands.append(encode("SELECT", self._params["db"]))
        return commands

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.fail(RedisFault("closed"))
        self._connection = None
