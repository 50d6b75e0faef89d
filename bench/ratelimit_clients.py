"""Authenticated throughput with the limiter on Redis: Forge's redis.asyncio client (hiredis,
spends of one loop turn pipelined) against the hand-written RESP client it replaced
(`resp_baseline.py`), and against redis.asyncio used one command per request, in one run.

Three `forge serve` instances (embedded SQLite, `forge init` data), all counting in the same
Redis, identical but for the client that runs the limiter's Lua script: `forge serve` itself,
and `bench/forge_with_client.py resp|per-command serve` (the same with that client swapped in).
wrk drives `GET /v1/sites/{site}` at 16 and 64 connections; the arms take turns within each
round and their order reverses every time, so a drift in the machine's load cancels out.
The figure per concurrency is the median of the per-round ratios redis.asyncio ÷ RESP. Limits
are high so every request is admitted (and still counted). Each server's CPU time per request
(user + system, from /proc) is printed too: a busy shared machine disturbs it less.
Bar: Forge's redis.asyncio client ≥ 0.90× the RESP client.
Run: `.venv/bin/python bench/ratelimit_clients.py` (when the machine is quiet).
"""

from __future__ import annotations

import contextlib
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
WITH_CLIENT = (str(VENV_BIN / "python"), str(Path(__file__).with_name("forge_with_client.py")))
FORGE = (str(VENV_BIN / "forge"),)
ARMS = {
    "redis.asyncio": FORGE,
    "RESP": (*WITH_CLIENT, "resp"),
    "per-command": (*WITH_CLIENT, "per-command"),
}


def main() -> int:
    def env() -> dict[str, str]:
        return {
            **HIGH,
            "FORGE_REDIS_URL": REDIS_URL,
            "FORGE_REDIS_PREFIX": f"bench-{uuid.uuid4()}:",
        }

    with contextlib.ExitStack() as stack:
        targets = {}
        for arm, forge in ARMS.items():
            created, port, server = stack.enter_context(forge_instance(env(), forge=forge))
            targets[arm] = (*target(created, port), server.pid)
        for url, headers, _ in targets.values():
            wrk(url, 2, headers)  # warm up: connections, caches
        rates: dict[tuple[str, int], list[float]] = {(a, c): [] for a in ARMS for c in CONNECTIONS}
        cpu = dict.fromkeys(ARMS, 0.0)
        served = dict.fromkeys(ARMS, 0.0)
        order = list(ARMS)
        for _ in range(ROUNDS):
            for connections in CONNECTIONS:
                for arm in order:
                    url, headers, pid = targets[arm]
                    before = cpu_seconds(pid)
                    rate, bad = wrk(url, SECONDS, headers, connections)
                    cpu[arm] += cpu_seconds(pid) - before
                    served[arm] += rate * SECONDS
                    assert bad == 0, f"{bad} non-2xx answers ({arm})"
                    rates[arm, connections].append(rate)
                order.reverse()
    ok = True
    for connections in CONNECTIONS:
        print(f"{connections} connections:")
        baseline = rates["RESP", connections]
        for arm in ARMS:
            mine = rates[arm, connections]
            ratio = statistics.median(m / b for m, b in zip(mine, baseline, strict=True))
            rounded = [round(r) for r in mine]
            print(
                f"  {arm:14s} {statistics.median(mine):7.0f} req/s  ÷ RESP {ratio:.2f}  {rounded}"
            )
            if arm == "redis.asyncio":
                ok = ok and ratio >= BAR
    per_request = {arm: cpu[arm] / served[arm] * 1e6 for arm in ARMS}
    print(
        "server CPU per request: " + ", ".join(f"{a} {us:.0f} µs" for a, us in per_request.items())
    )
    print(f"bar: redis.asyncio ÷ RESP >= {BAR} at every concurrency")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
