"""Purge by tag at scale: `POST …/cache/purge` until `GET /v1/jobs/{id}?wait=` answers
`succeeded`, sequential, with every role its own process on PostgreSQL and the limiter on Redis:
an API process (`forge serve --no-worker --no-edge`), a `forge worker`, and two edges each
holding 100,000 objects (the built-in cache, pre-filled through the relay's own storing code:
bench/edge_filled.py). Each purge names one object's tag, so each edge evicts one.

Baselines in the same run: an authenticated `GET /v1/sites/{site}` interleaved with every
purge (the cheapest authenticated round trip, so the machine's drift falls on both alike), and
after the two-edge rounds the same purges with the second edge stopped (through one edge).

Bar (issue 12): p50 < 100 ms through two edges.
Run: `.venv/bin/python bench/purge_scale.py [--purges 200] [--objects 100000]`. Needs
PostgreSQL (FORGE_TEST_POSTGRES, default postgresql+psycopg://postgres@127.0.0.1:5432) and
Redis on 127.0.0.1:6379 (a key prefix of its own).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

import httpx

from common import VENV_BIN, free_port, postgres_database, wait_until_listening
from edge_common import (
    bench_key,
    edge_process,
    hosted_data_dir,
    origin,
    purge_until_succeeded,
)

WARM_UP = 20


@dataclass
class Rounds:
    purges: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)


@dataclass
class Bench:
    http: httpx.Client
    site_id: str
    env_id: str
    tags: Iterator[str]

    def run(self, rounds: int, edges: int) -> Rounds:
        measured = Rounds()
        for round_ in range(WARM_UP + rounds):
            started = time.perf_counter()
            assert self.http.get(f"/v1/sites/{self.site_id}").status_code == 200
            got = time.perf_counter() - started
            tag = next(self.tags)
            took, result = purge_until_succeeded(self.http, self.site_id, self.env_id, tag)
            assert result["totals"] == {
                "edges": edges, "matched": edges, "evicted": edges, "marked_stale": 0
            }, result  # fmt: skip
            if round_ >= WARM_UP:
                measured.baseline.append(got * 1000)
                measured.purges.append(took * 1000)
        return measured


@contextmanager
def role(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [str(VENV_BIN / "forge"), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _line(what: str, timings: list[float]) -> str:
    return (
        f"  {what:<34} p50 {_percentile(timings, 0.5):6.1f} ms   "
        f"p99 {_percentile(timings, 0.99):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--purges", type=int, default=200)
    parser.add_argument("--objects", type=int, default=100_000)
    args = parser.parse_args()
    with postgres_database("bench") as url, origin() as origin_url:
        data_dir, _, env_id = hosted_data_dir(origin_url, url)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FORGE_")},
            "FORGE_DATABASE_URL": url,
            "FORGE_DATA_DIR": data_dir,
            "FORGE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "FORGE_REDIS_PREFIX": f"forge-bench-{uuid.uuid4().hex[:8]}:",
            "FORGE_RATELIMIT_READ": "1000000",
            "FORGE_RATELIMIT_WRITE": "1000000",
        }
        headers, site_id = bench_key(url, env_id)
        api_port = free_port()
        tags = (f"object-{i}" for i in range(args.objects))

        def filled_edge() -> AbstractContextManager[tuple[object, int, dict[str, str]]]:
            return edge_process(data_dir, objects=args.objects, cache_bytes=1 << 30, extra_env=env)

        with (
            filled_edge() as (_, _, first),
            role(["serve", "--port", str(api_port), "--no-worker", "--no-edge"], env),
            role(["worker"], env),
        ):
            wait_until_listening(api_port, 60)
            base = f"http://127.0.0.1:{api_port}"
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                bench = Bench(http, site_id, env_id, tags)
                with filled_edge() as (_, _, second):
                    two = bench.run(args.purges, edges=2)
                one = bench.run(args.purges, edges=1)
    load = os.getloadavg()
    print(
        f"purge by tag, POST to job succeeded, {args.purges} sequential, PostgreSQL + Redis, "
        f"API, worker and edges as processes (load average {load[0]:.1f} {load[1]:.1f})"
    )
    print(f"  edges ready: {first['entries']} and {second['entries']} objects cached")
    print(_line("two edges", two.purges))
    print(_line("one edge (second stopped)", one.purges))
    print(_line("baseline GET /v1/sites/{site}", two.baseline + one.baseline))
    p50 = _percentile(two.purges, 0.5)
    ratio = p50 / _percentile(one.purges, 0.5)
    print(f"  two edges / one edge p50: {ratio:.2f}×")
    print(f"  {'PASS' if p50 < 100 else 'FAIL'}: two edges p50 {p50:.1f} ms (bar: < 100 ms)")


if __name__ == "__main__":
    main()
