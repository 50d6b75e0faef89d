"""Authenticated throughput with the limiter on Redis: redis.asyncio (hiredis) against the
hand-written RESP client it replaced (`resp_baseline.py`), side by side in one run.

Two `forge serve` instances (embedded SQLite, `forge init` data), both counting in the same
Redis, identical but for the client that runs the limiter's Lua script: `forge serve` itself
(redis.asyncio) and `bench/forge_resp.py serve` (the same, with the RESP client swapped in).
wrk drives `GET /v1/sites/{site}` at 16 and 64 connections; the arms alternate within each
round and the order flips every round (ABBA), so a drift in the machine's load cancels out.
The figure per concurrency is the median of the per-round ratios redis.asyncio ÷ RESP. Limits
are high so every request is admitted (and still counted). Each server's CPU time per request
(user + system, from /proc) is printed too: a busy shared machine disturbs it less.
Bar: redis.asyncio ≥ 0.90× the RESP client. Run: `.venv/bin/python bench/ratelimit_clients.py`.
"""

from __future__ import annotations

import statistics
import sys
import uuid
from pathlib import Path

from common import VENV_BIN, forge_instance, wrk
from ratelimit_throughput import HIGH, REDIS_URL, cpu_seconds, target

ROUNDS = 8
SECONDS = 3
CONNECTIONS = (16, 64)
BAR = 0.90
RESP_FORGE = (str(VENV_BIN / "python"), str(Path(__file__).with_name("forge_resp.py")))
ARMS = ("redis.asyncio", "RESP")


def main() -> int:
    def env() -> dict[str, str]:
        return {
            **HIGH,
            "FORGE_REDIS_URL": REDIS_URL,
            "FORGE_REDIS_PREFIX": f"bench-{uuid.uuid4()}:",
        }

    with (
        forge_instance(env()) as (asyncio_created, asyncio_port, asyncio_server),
        forge_instance(env(), forge=RESP_FORGE) as (resp_created, resp_port, resp_server),
    ):
        targets = {
            "redis.asyncio": (*target(asyncio_created, asyncio_port), asyncio_server.pid),
            "RESP": (*target(resp_created, resp_port), resp_server.pid),
        }
        for url, headers, _ in targets.values():
            wrk(url, 2, headers)  # warm up: connections, caches
        rates = {(arm, c): [] for arm in ARMS for c in CONNECTIONS}
        cpu = {arm: 0.0 for arm in ARMS}
        served = {arm: 0.0 for arm in ARMS}
        for round_number in range(ROUNDS):
            order = ARMS if round_number % 2 == 0 else ARMS[::-1]
            for connections in CONNECTIONS:
                for arm in order:
                    url, headers, pid = targets[arm]
                    before = cpu_seconds(pid)
                    rate, bad = wrk(url, SECONDS, headers, connections)
                    cpu[arm] += cpu_seconds(pid) - before
                    served[arm] += rate * SECONDS
                    assert bad == 0, f"{bad} non-2xx answers ({arm})"
                    rates[arm, connections].append(rate)
                order = order[::-1]
    ok = True
    for connections in CONNECTIONS:
        new, old = rates["redis.asyncio", connections], rates["RESP", connections]
        ratio = statistics.median(n / o for n, o in zip(new, old, strict=True))
        ok = ok and ratio >= BAR
        print(f"{connections} connections:")
        print(f"  redis.asyncio: {statistics.median(new):8.0f} req/s  {[round(r) for r in new]}")
        print(f"  RESP client:   {statistics.median(old):8.0f} req/s  {[round(r) for r in old]}")
        print(f"  ratio redis.asyncio / RESP (median of rounds): {ratio:.2f}  (bar >= {BAR})")
    new_cpu, old_cpu = (cpu[arm] / served[arm] * 1e6 for arm in ARMS)
    print(
        f"server CPU per request: redis.asyncio {new_cpu:.0f} µs, RESP {old_cpu:.0f} µs "
        f"(ratio RESP / redis.asyncio {old_cpu / new_cpu:.2f})"
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
