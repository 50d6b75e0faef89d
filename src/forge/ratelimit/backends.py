"""Where the counting happens: GCRA in this process, or in Redis for many processes at once.

GCRA (the generic cell rate algorithm) keeps one number per bucket, its theoretical arrival
time (TAT): spending `n` units moves it `n × window/limit` into the future, and a spend is
refused when that would put it more than one window ahead of now. It is a sliding window with no
edges: a full bucket allows `limit` requests at once and then one every `window/limit`, so
no boundary ever admits twice the limit (a fixed window does), and nothing drips in the
background. Times are whole microseconds; a refused spend changes nothing.

Both backends run the same arithmetic. The Redis backend runs it in one server-side Lua script
(one round trip, atomic, on the Redis server's clock), so any number of processes sharing
Redis admit exactly the limit between them. Redis is reached through redis.asyncio (see
`RedisScript`). When Redis cannot be reached it counts in-process (see `RedisBackend`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeout
from redis.retry import Retry

log = logging.getLogger("forge.ratelimit")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    tat_us: int  # the bucket's theoretical arrival time after this decision
    now_us: int  # the clock the decision was made on


class Backend(Protocol):
    async def spend(
        self, key: str, limit: int, window_us: int, cost: int, now_us: int | None = None
    ) -> Verdict:
        """Spend `cost` units (0: only look) of `limit` per `window_us` from bucket `key`."""

    def health(self) -> str:
        """ "ok", or why counting is degraded (never fatal: requests keep being served)."""

    async def aclose(self) -> None:
        """Release what the running event loop holds (connections)."""


def gcra(tat_us: int | None, now_us: int, limit: int, window_us: int, cost: int) -> Verdict:
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = int(tat + cost * window_us / limit)
    if new_tat - now_us > window_us:
        return Verdict(False, tat, now_us)
    return Verdict(True, new_tat, now_us)


def wall_clock_us() -> int:
    return time.time_ns() // 1000


class InProcessBackend:
    """One dict of TATs behind a lock; idle buckets (TAT in the past) are dropped now and then
    so addresses seen once do not accumulate."""

    FORGET_EVERY = 4096

    def __init__(self) -> None:
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()
        self._spends = 0

    async def spend(
        self, key: str, limit: int, window_us: int, cost: int, now_us: int | None = None
    ) -> Verdict:
        return self.decide(key, limit, window_us, cost, now_us)

    def decide(
        self, key: str, limit: int, window_us: int, cost: int, now_us: int | None = None
    ) -> Verdict:
        now = wall_clock_us() if now_us is None else now_us
        with self._lock:
            verdict = gcra(self._tats.get(key), now, limit, window_us, cost)
            if verdict.allowed and cost:
                self._tats[key] = verdict.tat_us
            self._spends += 1
            if self._spends % self.FORGET_EVERY == 0:
                self._tats = {k: tat for k, tat in self._tats.items() if tat > now}
        return verdict

    def health(self) -> str:
        return "ok"

    async def aclose(self) -> None:
        return None


# KEYS[1]: the bucket. ARGV: window (µs), limit, cost, now (µs; empty: the server's clock).
GCRA_SCRIPT = """
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = math.floor(tat + cost * window / limit)
if new_tat - now > window then
  return {0, tat, now}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%d', new_tat),
             'PX', math.ceil((new_tat - now) / 1000) + 1000)
end
return {1, new_tat, now}
"""


class Script(Protocol):
    """The GCRA script on one Redis, for the event loop that opened it."""

    async def __call__(self, keys: list[str], args: list[str | int]) -> list[int]: ...

    async def aclose(self) -> None: ...


class RedisScript:
    """The script through redis.asyncio (hiredis parsing the replies), over a bounded pool.

    Spends queued during one turn of the event loop go out together as one pipeline of
    EVALSHAs: one write, one round trip, the replies in order, each resolving its request.
    Under load that is what keeps the client's cost per request low; one command per request
    cost several times more CPU (measured: bench/ratelimit_overhead.py, ratelimit_clients.py).
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


ScriptFactory = Callable[[str, str, float], Script]  # (url, Lua source, timeout)


class RedisBackend:
    """GCRA in Redis, one EVALSHA per decision, never blocking the event loop.

    Redis unreachable (refused, timed out, any Redis error): the request is counted by the
    in-process fallback instead, so requests keep being served (fail open to per-process
    limits, never to no limits); the fault is logged once per `RETRY_SECONDS`, reported by
    `health()` on `/readyz` as a non-fatal check, and Redis is not tried again for
    `RETRY_SECONDS`, so an outage costs one failed attempt per interval, not one per request.

    Connections belong to an event loop: each loop that spends gets its own script client
    (a process serves on one loop; tests start several), closed by `aclose()` on that loop.
    """

    RETRY_SECONDS = 5.0

    def __init__(
        self,
        url: str,
        prefix: str,
        timeout: float,
        fallback: InProcessBackend | None = None,
        script: ScriptFactory = RedisScript,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._open_script = script
        self._scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Script] = (
            weakref.WeakKeyDictionary()
        )
        self._prefix = prefix + "rl:"
        self._fallback = fallback or InProcessBackend()
        self._retry_at = 0.0
        self._fault: str | None = None

    def _script(self) -> Script:
        loop = asyncio.get_running_loop()
        found = self._scripts.get(loop)
        if found is None:
            found = self._scripts[loop] = self._open_script(self._url, GCRA_SCRIPT, self._timeout)
        return found

    async def spend(
        self, key: str, limit: int, window_us: int, cost: int, now_us: int | None = None
    ) -> Verdict:
        if self._fault is not None and time.monotonic() < self._retry_at:
            return self._fallback.decide(key, limit, window_us, cost, now_us)
        try:
            allowed, tat, now = await self._script()(
                [self._prefix + key], [window_us, limit, cost, "" if now_us is None else now_us]
            )
        except (RedisError, OSError) as err:
            self._trip(err)
            return self._fallback.decide(key, limit, window_us, cost, now_us)
        if self._fault is not None:
            log.warning("rate limiter: Redis reachable again; counting is shared again")
            self._fault = None
        return Verdict(bool(allowed), int(tat), int(now))

    def _trip(self, err: Exception) -> None:
        self._fault = f"redis unreachable ({_reason(err)}); counting in-process"
        self._retry_at = time.monotonic() + self.RETRY_SECONDS
        log.warning(
            "rate limiter: Redis unreachable, counting in-process for %.0f s",
            self.RETRY_SECONDS,
            extra={"error": _reason(err)},
        )

    def health(self) -> str:
        return self._fault or "ok"

    async def aclose(self) -> None:
        """Close this event loop's connections (those of other loops are theirs to close)."""
        found = self._scripts.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.aclose()


def _reason(err: Exception) -> str:
    """What went wrong, in one line; redis-py's messages name the host and port, never the
    password."""
    if isinstance(err, RedisTimeout | TimeoutError):
        return "no reply within the timeout"
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
