"""What the rate limiter adds to one request, measured per call on uvloop (no HTTP).

In-process: `await RateLimiter.spend` + the six response headers, for one key's `read` bucket
(bar: under 20 µs). Redis, for information: the same through the Lua script, one call at a
time (a full round trip each) and 64 in flight (as under load), with redis.asyncio as Forge uses
it (one pipeline per loop turn), with the hand-written RESP client it replaced and with
redis.asyncio one command per request (`redis_clients.py`); and the idempotency fingerprint of
a small POST body.
Run: `.venv/bin/python bench/ratelimit_overhead.py`.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime

import uvloop

from forge.http.throttling import headers_for
from forge.idempotency.service import fingerprint
from forge.principal import Principal
from forge.ratelimit.backends import (
    Backend,
    InProcessBackend,
    RedisBackend,
    RedisScript,
    ScriptFactory,
)
from forge.ratelimit.limiter import OverrideCache, RateLimiter
from redis_clients import CLIENTS

CALLS = 200_000
REDIS_CALLS = 20_000
REDIS_URL = "redis://127.0.0.1:6379/0"

PRINCIPAL = Principal(
    key_id="key_01M84SAYFXZ937PWY782SAHZNA",
    secret_id="ks_01M84SAYFXZ937PWY782SAHZNB",  # noqa: S106 (an id, not a secret)
    key_prefix="mfk_test_abcd",
    family="mfk",
    mode="test",
    team_id="team_01M84SAYFRPRJXJP4K8QBH8K1S",
    client_id="cli_01M84SAYFRPRJXJP4K8QBH8K1T",
    role="owner",
    scopes=frozenset(),
    rights=frozenset(),
    constraint=None,
    ip_allowlist=(),
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
)


def limiter(backend: Backend) -> RateLimiter:
    return RateLimiter(
        backend,
        defaults={"read": 10**9, "write": 100, "create": 5},
        window=60,
        overrides=OverrideCache(dict),
        auth_failures=20,
    )


async def per_call_us(subject: RateLimiter, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        headers_for(await subject.spend(PRINCIPAL, "read"))
    return (time.perf_counter() - started) / calls * 1e6


async def one_request(subject: RateLimiter) -> None:
    headers_for(await subject.spend(PRINCIPAL, "read"))


async def pipelined_us(subject: RateLimiter, calls: int, in_flight: int = 64) -> float:
    started = time.perf_counter()
    for _ in range(calls // in_flight):
        await asyncio.gather(*(one_request(subject) for _ in range(in_flight)))
    return (time.perf_counter() - started) / calls * 1e6


async def on_redis(script: ScriptFactory) -> tuple[float, float]:
    """One at a time, then 64 in flight; the best of three runs each."""
    backend = RedisBackend(REDIS_URL, f"bench-{uuid.uuid4().hex}:", 1.0, script=script)
    subject = limiter(backend)
    await per_call_us(subject, 1_000)
    one_by_one = min([await per_call_us(subject, REDIS_CALLS) for _ in range(3)])
    pipelined = min([await pipelined_us(subject, REDIS_CALLS) for _ in range(3)])
    await backend.aclose()
    return one_by_one, pipelined


async def measure() -> tuple[float, dict[str, tuple[float, float]]]:
    in_process = limiter(InProcessBackend())
    await per_call_us(in_process, 10_000)  # warm up
    memory_us = min([await per_call_us(in_process, CALLS) for _ in range(3)])
    clients: dict[str, ScriptFactory] = {"redis.asyncio": RedisScript, **CLIENTS}
    redis = {name: await on_redis(script) for name, script in clients.items()}
    return memory_us, redis


def main() -> int:
    memory_us, redis = uvloop.run(measure())
    body = b'{"slug": "web", "name": "Web", "region": "eu"}'
    started = time.perf_counter()
    for _ in range(CALLS):
        fingerprint("POST", "/v1/projects", body)
    fingerprint_us = (time.perf_counter() - started) / CALLS * 1e6
    print(f"in-process limiter + headers: {memory_us:6.2f} µs per request  (bar < 20 µs)")
    for name, (one_by_one, pipelined) in redis.items():
        print(f"redis limiter + headers, {name}: {one_by_one:6.2f} µs per request (one at a time)")
        print(f"redis limiter + headers, {name}: {pipelined:6.2f} µs per request (64 in flight)")
    print(f"idempotency fingerprint:      {fingerprint_us:6.2f} µs per keyed POST")
    ok = memory_us < 20
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
