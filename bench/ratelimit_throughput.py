"""Authenticated throughput with the Redis rate-limit backend against the in-process one.

Two `forge serve` instances (embedded SQLite, `forge init` data), identical but for
FORGE_REDIS_URL, driven in alternating wrk rounds (ABBA order, so a drift in the machine's load
cancels out) on `GET /v1/sites/{site}` in one run; the figure is the median of the per-round
ratios. Limits are set high so every request is admitted (and still counted). Also printed:
each server's CPU time per request (user + system, from /proc), which a busy shared machine
disturbs less than requests/s.
Bar: Redis ≥ 0.85× in-process requests/s. Run: `.venv/bin/python bench/ratelimit_throughput.py`.
"""

from __future__ import annotations

import os
import statistics
import sys
import uuid
from pathlib import Path

from common import forge_instance, wrk

ROUNDS = 8
SECONDS = 3
REDIS_URL = "redis://127.0.0.1:6379/0"
HIGH = {"FORGE_RATELIMIT_READ": str(10**9)}


def target(created: dict, port: int) -> tuple[str, dict[str, str]]:
    site = created["sites"][0]["id"]
    headers = {"Authorization": f"Bearer {created['key']['secret']}"}
    return f"http://127.0.0.1:{port}/v1/sites/{site}", headers


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    redis_env = {
        **HIGH,
        "FORGE_REDIS_URL": REDIS_URL,
        "FORGE_REDIS_PREFIX": f"bench-{uuid.uuid4()}:",
    }
    with (
        forge_instance(HIGH) as (memory_created, memory_port, memory_server),
        forge_instance(redis_env) as (redis_created, redis_port, redis_server),
    ):
        pids = {"memory": memory_server.pid, "redis": redis_server.pid}
        cpu = {"memory": 0.0, "redis": 0.0}
        served = {"memory": 0.0, "redis": 0.0}
        memory_url, memory_headers = target(memory_created, memory_port)
        redis_url, redis_headers = target(redis_created, redis_port)
        wrk(memory_url, 2, memory_headers)
        wrk(redis_url, 2, redis_headers)
        memory_rates, redis_rates = [], []
        for round_number in range(ROUNDS):
            pair = [("memory", memory_url, memory_headers), ("redis", redis_url, redis_headers)]
            for name, url, headers in pair if round_number % 2 == 0 else reversed(pair):
                before = cpu_seconds(pids[name])
                rate, bad = wrk(url, SECONDS, headers)
                cpu[name] += cpu_seconds(pids[name]) - before
                served[name] += rate * SECONDS
                assert bad == 0, f"{bad} non-2xx answers ({name})"
                (memory_rates if name == "memory" else redis_rates).append(rate)
    memory_rps, redis_rps = statistics.median(memory_rates), statistics.median(redis_rates)
    ratio = statistics.median(r / m for r, m in zip(redis_rates, memory_rates, strict=True))
    print(f"in-process limiter: {memory_rps:8.0f} req/s  {memory_rates}")
    print(f"redis limiter:      {redis_rps:8.0f} req/s  {redis_rates}")
    print(f"ratio redis / in-process (median of rounds): {ratio:.2f}  (bar >= 0.85)")
    memory_cpu, redis_cpu = (cpu[n] / served[n] * 1e6 for n in ("memory", "redis"))
    print(
        f"server CPU per request: in-process {memory_cpu:.0f} µs, redis {redis_cpu:.0f} µs "
        f"(ratio {memory_cpu / redis_cpu:.2f})"
    )
    ok = ratio >= 0.85
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
