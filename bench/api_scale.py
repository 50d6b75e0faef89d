"""Authenticated `GET /v1/sites/{site}` through two API processes against one, on PostgreSQL
with the rate limiter on Redis, side by side in one run (alternating rounds, wrk -t1 -c64):
`forge serve --no-worker --no-edge --workers 1` against `--workers 2` (two processes sharing
the port).

    python bench/api_scale.py [--seconds 4] [--rounds 3]

Needs PostgreSQL (FORGE_TEST_POSTGRES, default postgresql+psycopg://postgres@127.0.0.1:5432)
and Redis on 127.0.0.1:6379 (its own key prefix). The bar: two processes >= 1.6x one. On a
2-core machine wrk itself takes a core, so read the ratio against the load average it prints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import uuid

from common import api_server, migrate_and_init, postgres_database, wrk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with postgres_database("bench") as url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FORGE_")},
            "FORGE_DATABASE_URL": url,
            "FORGE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "FORGE_REDIS_PREFIX": f"forge-bench-{uuid.uuid4().hex[:8]}:",
            "FORGE_RATELIMIT_READ": "1000000000",
            "FORGE_DATA_DIR": tempfile.mkdtemp(prefix="forge-bench-"),
        }
        created = migrate_and_init(env)
        site = created["sites"][0]["id"]
        headers = {"Authorization": f"Bearer {created['key']['secret']}"}
        rates: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.rounds):
            for workers in rates:
                with api_server(env, workers) as port:
                    url = f"http://127.0.0.1:{port}/v1/sites/{site}"
                    wrk(url, 1, headers, connections=64)  # warm every process's pools
                    rate, bad = wrk(url, args.seconds, headers, connections=64)
                    assert bad == 0, f"{bad} non-2xx answers"
                    rates[workers].append(rate)
    print(
        f"authenticated GET /v1/sites/{{site}}, PostgreSQL, limiter on Redis, wrk -t1 -c64 "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    for workers, runs in rates.items():
        listed = ", ".join(f"{r:,.0f}" for r in runs)
        print(f"  {workers} process(es) {statistics.median(runs):>8,.0f}/s  (runs: {listed})")
    ratio = statistics.median(rates[2]) / statistics.median(rates[1])
    print(f"  {'PASS' if ratio >= 1.6 else 'FAIL'}: two / one = {ratio:.2f}  (bar: >= 1.60)")


if __name__ == "__main__":
    main()
