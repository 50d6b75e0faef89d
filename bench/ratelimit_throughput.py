"""Authenticated throughput with the Redis rate-limit backend against the in-process one.

Two `forge serve` instances (embedded SQLite, `forge init` data), identical but for
FORGE_REDIS_URL, driven in alternating wrk rounds on `GET /v1/sites/{site}` in one run.
Limits are set high so every request is admitted (and still counted).
Bar: Redis ≥ 0.85× in-process requests/s. Run: `.venv/bin/python bench/ratelimit_throughput.py`.
"""

from __future__ import annotations

import statistics
import sys
import uuid

from common import forge_instance, wrk

ROUNDS = 3
SECONDS = 5
REDIS_URL = "redis://127.0.0.1:6379/0"
HIGH = {"FORGE_RATELIMIT_READ": str(10**9)}


def target(created: dict, port: int) -> tuple[str, dict[str, str]]:
    site = created["sites"][0]["id"]
    headers = {"Authorization": f"Bearer {created['key']['secret']}"}
    return f"http://127.0.0.1:{port}/v1/sites/{site}", headers


def main() -> int:
    redis_env = {
        **HIGH,
        "FORGE_REDIS_URL": REDIS_URL,
        "FORGE_REDIS_PREFIX": f"bench-{uuid.uuid4()}:",
    }
    with (
        forge_instance(HIGH) as (memory_created, memory_port, _),
        forge_instance(redis_env) as (redis_created, redis_port, _),
    ):
        memory_url, memory_headers = target(memory_created, memory_port)
        redis_url, redis_headers = target(redis_created, redis_port)
        wrk(memory_url, 2, memory_headers)
        wrk(redis_url, 2, redis_headers)
        memory_rates, redis_rates = [], []
        for _ in range(ROUNDS):
            rate, bad = wrk(memory_url, SECONDS, memory_headers)
            assert bad == 0, f"{bad} non-2xx answers (in-process)"
            memory_rates.append(rate)
            rate, bad = wrk(redis_url, SECONDS, redis_headers)
            assert bad == 0, f"{bad} non-2xx answers (redis)"
            redis_rates.append(rate)
    memory_rps, redis_rps = statistics.median(memory_rates), statistics.median(redis_rates)
    ratio = redis_rps / memory_rps
    print(f"in-process limiter: {memory_rps:8.0f} req/s  {memory_rates}")
    print(f"redis limiter:      {redis_rps:8.0f} req/s  {redis_rates}")
    print(f"ratio redis / in-process: {ratio:.2f}  (bar >= 0.85)")
    ok = ratio >= 0.85
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
