"""Authenticated `GET /v1/sites/{site}` on `forge serve` (embedded SQLite) against a bare
FastAPI route returning a same-sized body, same uvicorn settings, side by side in one run.

Bar: Forge ≥ 0.5× the bare route's requests/s; resident memory after 50,000 requests under
150 MB and flat. Run: `make bench` or `.venv/bin/python bench/api_throughput.py`.
"""

from __future__ import annotations

import statistics
import sys
import urllib.request

from common import bare_instance, forge_instance, rss_mb, wrk

ROUNDS = 3
SECONDS = 5


def count_requests(url: str, headers: dict[str, str], total: int) -> None:
    """Drive `total` requests through wrk with a fixed duration per chunk until done."""
    sent = 0
    while sent < total:
        rate, bad = wrk(url, 2, headers)
        assert bad == 0, f"{bad} non-2xx answers"
        sent += int(rate * 2)


def main() -> int:
    # The limiter still counts every request; its budget is just out of the way.
    with forge_instance({"FORGE_RATELIMIT_READ": "1000000000"}) as (created, port, server):
        site = created["sites"][0]["id"]
        url = f"http://127.0.0.1:{port}/v1/sites/{site}"
        headers = {"Authorization": f"Bearer {created['key']['secret']}"}
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request) as response:  # noqa: S310 (loopback only)
            assert response.status == 200
        with bare_instance() as bare_port:
            bare_url = f"http://127.0.0.1:{bare_port}/v1/sites/{site}"
            wrk(url, 2, headers)
            wrk(bare_url, 2)
            typed_url = f"http://127.0.0.1:{bare_port}/typed/v1/sites/{site}"
            forge_rates, bare_rates, typed_rates = [], [], []
            for _ in range(ROUNDS):
                rate, bad = wrk(url, SECONDS, headers)
                assert bad == 0, f"{bad} non-2xx answers from Forge"
                forge_rates.append(rate)
                bare_rates.append(wrk(bare_url, SECONDS)[0])
                typed_rates.append(wrk(typed_url, SECONDS)[0])
        forge_rps, bare_rps = statistics.median(forge_rates), statistics.median(bare_rates)
        typed_rps = statistics.median(typed_rates)
        ratio = forge_rps / bare_rps
        print(f"forge  GET /v1/sites/{{site}}:       {forge_rps:8.0f} req/s  {forge_rates}")
        print(f"bare   FastAPI, same body:          {bare_rps:8.0f} req/s  {bare_rates}")
        print(f"bare   FastAPI, annotated return:   {typed_rps:8.0f} req/s  {typed_rates}")
        print(
            f"ratio vs bare: {ratio:.2f}  (bar >= 0.50);  vs annotated bare: "
            f"{forge_rps / typed_rps:.2f} (information)"
        )

        before = rss_mb(server.pid)
        count_requests(url, headers, 10_000)
        at_10k = rss_mb(server.pid)
        count_requests(url, headers, 40_000)
        at_50k = rss_mb(server.pid)
        print(
            f"rss: start {before:.1f} MB, after 10k {at_10k:.1f} MB, after 50k {at_50k:.1f} MB"
            f"  (bar < 150 MB and flat)"
        )
        flat = at_50k - at_10k < 10
        ok = ratio >= 0.5 and at_50k < 150 and flat
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
