"""(a) Authenticated `GET /v1/sites/{site}` at 64 concurrent clients on PostgreSQL, with 1 ms
added each way between `forge serve` and the database, against the same with none added.

Both arms go through `bench/delay_proxy.py` (0 ms and 1 ms), so the proxy's own cost is in
both; one throw-away database, two `forge serve` processes, alternating wrk rounds (ABBA).
Also (c): a third `forge serve` connected to PostgreSQL directly (no proxy) against a bare
FastAPI route with the same body.
Bar: (a) ≥ 0.5×, (c) ≥ 0.4×. Run: `.venv/bin/python bench/pg_latency.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from common import (
    VENV_BIN,
    bare_instance,
    free_port,
    postgres_database,
    wait_until_listening,
    wrk,
)

ROUNDS = 4
SECONDS = 4
CONNECTIONS = 64
PG_HOST, PG_PORT = "127.0.0.1", 5432
SERVER = f"postgresql+psycopg://postgres@{PG_HOST}"


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None) -> Iterator[int]:
    log = open(os.environ.get("BENCH_LOG", os.devnull), "ab")  # noqa: SIM115
    child = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    try:
        yield child.pid
    finally:
        child.terminate()
        child.wait(10)


def proxy(stack: ExitStack, delay_ms: float) -> int:
    port = free_port()
    script = os.path.join(os.path.dirname(__file__), "delay_proxy.py")
    stack.enter_context(
        process(
            [
                sys.executable,
                script,
                "--listen",
                str(port),
                "--target",
                f"{PG_HOST}:{PG_PORT}",
                "--delay-ms",
                str(delay_ms),
            ]
        )
    )
    wait_until_listening(port)
    return port


def forge(stack: ExitStack, env: dict[str, str]) -> int:
    port = free_port()
    # The API alone: each process would otherwise bind an edge on the same default port.
    args = [str(VENV_BIN / "forge"), "serve", "--port", str(port), "--no-edge"]
    stack.enter_context(process(args, env))
    wait_until_listening(port, timeout=30)
    return port


def main() -> int:
    with postgres_database("bench", f"{SERVER}:{PG_PORT}") as url, ExitStack() as stack:
        name = url.rsplit("/", 1)[1]
        data_dir = stack.enter_context(__import__("tempfile").TemporaryDirectory())
        base = {**os.environ, "FORGE_DATA_DIR": data_dir, "FORGE_RATELIMIT_READ": str(10**9)}
        direct = {**base, "FORGE_DATABASE_URL": f"{SERVER}:{PG_PORT}/{name}"}
        subprocess.run(
            [str(VENV_BIN / "forge"), "migrate"], env=direct, check=True, capture_output=True
        )
        created = json.loads(
            subprocess.run(
                [str(VENV_BIN / "forge"), "init", "--json"],
                env=direct,
                check=True,
                capture_output=True,
            ).stdout
        )
        arms = {}
        for label, delay in (("0 ms", 0.0), ("1 ms", 1.0)):
            via = proxy(stack, delay)
            env = {**base, "FORGE_DATABASE_URL": f"{SERVER}:{via}/{name}"}
            arms[label] = forge(stack, env)
        arms["direct"] = forge(stack, direct)
        site = created["sites"][0]["id"]
        headers = {"Authorization": f"Bearer {created['key']['secret']}"}
        urls = {label: f"http://127.0.0.1:{port}/v1/sites/{site}" for label, port in arms.items()}
        for url in urls.values():
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:  # noqa: S310
                assert r.status == 200
            wrk(url, 2, headers, CONNECTIONS)
        bare_port = stack.enter_context(bare_instance())
        bare_url = f"http://127.0.0.1:{bare_port}/v1/sites/{site}"
        wrk(bare_url, 2, None, CONNECTIONS)
        rates: dict[str, list[float]] = {"0 ms": [], "1 ms": [], "direct": [], "bare": []}
        for round_ in range(ROUNDS):
            order = ["0 ms", "1 ms"] if round_ % 2 == 0 else ["1 ms", "0 ms"]
            for label in order:
                rate, bad = wrk(urls[label], SECONDS, headers, CONNECTIONS)
                assert bad == 0, f"{bad} non-2xx answers ({label})"
                rates[label].append(rate)
            for label, url, auth in (("direct", urls["direct"], headers), ("bare", bare_url, None)):
                rate, bad = wrk(url, SECONDS, auth, CONNECTIONS)
                assert bad == 0, f"{bad} non-2xx answers ({label})"
                rates[label].append(rate)
    ratios = [slow / fast for slow, fast in zip(rates["1 ms"], rates["0 ms"], strict=True)]
    vs_bare = [fast / bare for fast, bare in zip(rates["direct"], rates["bare"], strict=True)]
    for label, values in rates.items():
        print(f"{label:>5}: median {statistics.median(values):7.0f} req/s  {values}")
    a, c = statistics.median(ratios), statistics.median(vs_bare)
    print(f"(a) 1 ms ÷ 0 ms through the proxy: {a:.2f}  (bar >= 0.50)  rounds {ratios}")
    print(f"(c) PostgreSQL direct ÷ bare FastAPI: {c:.2f}  (bar >= 0.40)  rounds {vs_bare}")
    ok = a >= 0.5 and c >= 0.4
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
