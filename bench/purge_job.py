"""What a purge costs the control plane: `POST …/cache/purge` until `GET /v1/jobs/{id}?wait=30`
answers `succeeded`, on embedded defaults (`forge serve`, SQLite, the worker in-process).

No edge runs here, so the job succeeds as soon as the worker has claimed it and found no live
edge: this is the API + purge log + job + worker + notification path that every purge pays on
top of the edges' own apply time (the edge's bench measures the whole line with 1,000,000
objects cached). Baseline, in the same run and the same server: one authenticated
`GET /v1/sites/{site}` (the cheapest authenticated round trip). Purges and baseline requests
are interleaved so the machine's load drifts over both alike.

Bar (issue 11, with the edge's apply time on top): p50 < 50 ms, p99 < 150 ms.
Run: `.venv/bin/python bench/purge_job.py`.
"""

from __future__ import annotations

import statistics
import time

import httpx

from common import forge_instance

ROUNDS = 300


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    # The write bucket (100/min) would otherwise throttle the run itself.
    limits = {"FORGE_RATELIMIT_WRITE": "100000", "FORGE_RATELIMIT_READ": "100000"}
    with forge_instance(limits) as (created, port, _server):
        key = created["key"]["secret"]
        site = created["sites"][0]
        env = site["environments"][0]["id"] if "environments" in site else None
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as c:
            if env is None:
                env = c.get(f"/v1/sites/{site['id']}/environments").json()["data"][0]["id"]
            purge_path = f"/v1/sites/{site['id']}/environments/{env}/cache/purge"
            purges: list[float] = []
            baseline: list[float] = []
            for round_ in range(ROUNDS + 20):
                started = time.perf_counter()
                assert c.get(f"/v1/sites/{site['id']}").status_code == 200
                got = time.perf_counter() - started
                started = time.perf_counter()
                answer = c.post(purge_path, json={"tags": [f"product-{round_}"]})
                assert answer.status_code == 202, answer.text
                job = c.get(f"{answer.headers['location']}?wait=30").json()["data"]
                took = time.perf_counter() - started
                assert job["status"] == "succeeded", job
                if round_ >= 20:  # warm-up rounds are not counted
                    baseline.append(got * 1000)
                    purges.append(took * 1000)
    p50, p99 = _percentile(purges, 0.5), _percentile(purges, 0.99)
    base = statistics.median(baseline)
    print(f"purge POST → job succeeded (no edge): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"baseline authenticated GET /v1/sites/{{site}}: p50 {base:.1f} ms")
    print(f"ratio purge p50 / GET p50: {p50 / base:.1f}×")
    verdict = "PASS" if p50 < 50 and p99 < 150 else "FAIL"
    print(f"{verdict}: control-plane part of the bar p50 < 50 ms, p99 < 150 ms")


if __name__ == "__main__":
    main()
