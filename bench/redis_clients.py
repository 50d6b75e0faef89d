"""The redis.asyncio clients `bench/ratelimit_clients.py` and `ratelimit_overhead.py` measure
Forge's own (`forge.ratelimit.resp.ScriptClient`) against: each runs the limiter's script as
`backends.Script` says."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from forge.ratelimit import backends


class Pipelined:
    """redis.asyncio at its best here (hiredis parsing the replies), over a bounded pool.

    Spends queued during one turn of the event loop go out together as one pipeline of
    EVALSHAs: one write, one round trip, the replies in order, each resolving its request.
    Under load that is what keeps the client's cost per spend low; one command per request
    (`PerCommand`) cost several times more CPU.
    A pipeline is not a transaction: each script runs atomically on its own, as before.
    If Redis lost the script (a restart, SCRIPT FLUSH), it is loaded and the refused calls,
    only those, are sent again.

    Fail fast, never retry: each batch has one deadline, `timeout`, for all of it (a free
    connection, the connect, the replies); a failure fails every request of the batch, for
    the caller to count in-process. One deadline per batch, not one per reply: redis-py arms
    a timer for every read, which cost a quarter of the client's CPU per request. A batch cut
    off half-way drops its connection (redis-py disconnects on a cancelled read).
    """

    POOL_SIZE = 8  # pipelines in flight per process at once; more wait for a free connection

    def __init__(self, url: str, source: str, timeout: float) -> None:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=self.POOL_SIZE,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=None,  # the batch's deadline bounds every read
            retry=Retry(NoBackoff(), 0),
        )
        self._client = Redis.from_pool(pool)
        self._script = self._client.register_script(source)
        self._timeout = timeout
        self._queued: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, keys: list[str], args: list[str | int]) -> list[int]:
        loop = asyncio.get_running_loop()
        call = _Call(keys, args, loop.create_future())
        if not self._queued:
            loop.call_soon(self._send_queued)
        self._queued.append(call)
        reply: list[int] = await call.reply
        return reply

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                replies = await self._pipeline(batch)
                refused = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
                if refused:
                    await self._client.script_load(self._script.script)
                    again = await self._pipeline([batch[i] for i in refused])
                    for i, reply in zip(refused, again, strict=True):
                        replies[i] = reply
        except (RedisError, OSError) as err:  # TimeoutError is an OSError
            replies = [err] * len(batch)
        for call, reply in zip(batch, replies, strict=True):
            if call.reply.done():  # its request is gone (cancelled)
                continue
            if isinstance(reply, BaseException):
                call.reply.set_exception(reply)
            else:
                call.reply.set_result(reply)

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        pipeline = self._client.pipeline(transaction=False)
        for call in batch:
            pipeline.evalsha(self._script.sha, len(call.keys), *call.keys, *call.args)
        replies: list[Any] = await pipeline.execute(raise_on_error=False)
        return replies

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True, eq=False)
class _Call:
    keys: list[str]
    args: list[str | int]
    reply: asyncio.Future[list[int]]


class PerCommand:
    """redis.asyncio the plain way: one EVALSHA per request (`register_script`), each on a
    pooled connection of its own, with the same pool bound and timeouts as Forge's client."""

    def __init__(self, url: str, source: str, timeout: float) -> None:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=32,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._client = Redis.from_pool(pool)
        self._script = self._client.register_script(source)

    async def __call__(self, keys: list[str], args: list[str | int]) -> list[int]:
        reply: list[int] = await self._script(keys=keys, args=args)
        return reply

    async def aclose(self) -> None:
        await self._client.aclose()


CLIENTS: dict[str, backends.ScriptFactory] = {
    "redis.asyncio": Pipelined,
    "per-command": PerCommand,
}
