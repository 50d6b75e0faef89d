"""The clients `bench/ratelimit_clients.py` and `ratelimit_overhead.py` measure Forge's own
(`forge.ratelimit.backends.RedisScript`) against: each runs the limiter's script as
`backends.Script` says."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from forge.ratelimit import backends
from resp_baseline import ScriptClient


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


CLIENTS: dict[str, backends.ScriptFactory] = {"resp": ScriptClient, "per-command": PerCommand}
