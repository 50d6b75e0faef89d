"""Cache-hit throughput of the edge against nginx proxy_cache on the same ~2 KB object
(wrk -t1 -c32, one worker each, side by side, alternating), and the hit cost with 1,000 and
1,000,000 objects cached.

    python bench/edge_hits.py [--seconds 4] [--rounds 3] [--skip-million]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from common import wrk
from edge_common import HOST, edge_process, hosted_data_dir, nginx, origin


def _warm(url: str, header: str) -> None:
    """Until the cache answers (a freshly filled edge first catches up with its heartbeat)."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(url, headers={"Host": HOST}, timeout=10)
        assert response.status_code == 200, response.text
        if response.headers.get(header) == "HIT":
            return
        assert time.monotonic() < deadline, dict(response.headers)
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    with origin() as origin_url:
        data_dir, _, _ = hosted_data_dir(origin_url)
        rates: dict[str, list[float]] = {"nginx": [], "edge": []}
        with nginx(origin_url) as nginx_port, edge_process(data_dir) as (_, edge_port, _):
            urls = {
                "nginx": f"http://127.0.0.1:{nginx_port}/object",
                "edge": f"http://127.0.0.1:{edge_port}/object",
            }
            _warm(urls["nginx"], "x-cache")
            _warm(urls["edge"], "forge-cache")
            for _ in range(args.rounds):
                for name, url in urls.items():
                    rate, bad = wrk(url, args.seconds, {"Host": HOST}, connections=32)
                    assert bad == 0, f"{name}: {bad} bad answers"
                    rates[name].append(rate)
        nginx_rate = statistics.median(rates["nginx"])
        edge_rate = statistics.median(rates["edge"])
        print("cache hits of one ~2 KB object, wrk -t1 -c32, median of", args.rounds, "rounds")
        for name in rates:
            runs = ", ".join(f"{r:,.0f}" for r in rates[name])
            print(f"  {name:6} {statistics.median(rates[name]):>9,.0f}/s   (runs: {runs})")
        print(f"  edge / nginx = {edge_rate / nginx_rate:.2f}  (bar: >= 1.00)")
        if args.skip_million:
            return
        sizes: dict[int, list[float]] = {1_000: [], 1_000_000: []}
        for objects in sizes:
            with edge_process(data_dir, objects=objects, cache_bytes=4 * 1024**3) as (
                _,
                port,
                report,
            ):
                url = f"http://127.0.0.1:{port}/object"
                _warm(url, "forge-cache")
                for _ in range(args.rounds):
                    rate, bad = wrk(url, args.seconds, {"Host": HOST}, connections=32)
                    assert bad == 0
                    sizes[objects].append(rate)
                print(
                    f"  filled with {int(report['entries']):,} objects: rss {report['rss_mb']} MB"
                )
        small = statistics.median(sizes[1_000])
        large = statistics.median(sizes[1_000_000])
        print("hit throughput with N objects cached (median):")
        for objects, runs in sizes.items():
            print(
                f"  {objects:>9,} objects {statistics.median(runs):>9,.0f}/s  (runs: "
                + ", ".join(f"{r:,.0f}" for r in runs)
                + ")"
            )
        print(f"  1M / 1k = {large / small:.2f}  (bar: within 10%, >= 0.90)")


if __name__ == "__main__":
    main()
