"""What (c) could reach at best: a bare FastAPI route plus only the two PostgreSQL look-ups an
authenticated `GET /v1/sites/{site}` makes, ÷ the bare route, beside Forge itself, one run.

Arms (64 connections, one uvicorn process each, rounds alternated): the bare route
(`bare_app.py`); the same route with the two look-ups (Forge's own statements on Forge's own
schema, `pg_floor_app.py`) in a worker thread, inline on the loop, on psycopg's async
connection, and as one statement on it; and `forge serve` on the same database. No Forge
design can do better than the fastest floor less what Forge adds on embedded SQLite.
Information for the (c) bar (≥ 0.4, `bench/pg_latency.py`).
Run: `.venv/bin/python bench/pg_floor.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack

from common import VENV_BIN, bare_instance, postgres_database, uvicorn_server, wrk
from forge.keys.tokens import hash_secret
from pg_latency import SERVER, forge

ROUNDS, SECONDS, CONNECTIONS = 3, 4, 64


def main() -> int:
    with postgres_database("floor", SERVER + ":5432") as url, tempfile.TemporaryDirectory() as d:
        name = url.rsplit("/", 1)[1]
        env = {
            **os.environ,
            "FORGE_DATA_DIR": d,
            "FORGE_RATELIMIT_READ": str(10**9),
            "FORGE_DATABASE_URL": f"{SERVER}:5432/{name}",
        }
        forge_bin = str(VENV_BIN / "forge")
        subprocess.run([forge_bin, "migrate"], env=env, check=True, capture_output=True)
        init = subprocess.run(
            [forge_bin, "init", "--json"], env=env, check=True, capture_output=True
        )
        created = json.loads(init.stdout)
        secret, site = created["key"]["secret"], created["sites"][0]["id"]
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
        floor_env = {**env, "FLOOR_DSN": dsn, "FLOOR_HASH": hash_secret(secret), "FLOOR_SITE": site}
        floor_server, floor_port = uvicorn_server("pg_floor_app:app", env=floor_env)
        try:
            with bare_instance() as bare_port, ExitStack() as stack:
                forge_port = forge(stack, env)
                auth = {"Authorization": f"Bearer {secret}"}
                path = f"/v1/sites/{site}"
                arms = {
                    "bare": (f"http://127.0.0.1:{bare_port}{path}", None),
                    "thread": (f"http://127.0.0.1:{floor_port}/thread{path}", None),
                    "inline": (f"http://127.0.0.1:{floor_port}/inline{path}", None),
                    "async": (f"http://127.0.0.1:{floor_port}/async{path}", None),
                    "async-one": (f"http://127.0.0.1:{floor_port}/async-one{path}", None),
                    "forge": (f"http://127.0.0.1:{forge_port}{path}", auth),
                }
                for target, headers in arms.values():
                    wrk(target, 2, headers, CONNECTIONS)
                rates: dict[str, list[float]] = {label: [] for label in arms}
                for round_ in range(ROUNDS):
                    order = list(arms) if round_ % 2 == 0 else list(reversed(arms))
                    for label in order:
                        target, headers = arms[label]
                        rate, bad = wrk(target, SECONDS, headers, CONNECTIONS)
                        assert bad == 0, f"{bad} non-2xx answers ({label})"
                        rates[label].append(rate)
        finally:
            floor_server.terminate()
            floor_server.wait(10)
    bare = statistics.median(rates["bare"])
    for label, values in rates.items():
        rate = statistics.median(values)
        rounds = [round(v) for v in values]
        print(f"{label:>9}: {rate:7.0f} req/s  ÷ bare {rate / bare:.2f}  {rounds}")
    floors = ("thread", "inline", "async", "async-one")
    best = max(statistics.median(rates[label]) for label in floors)
    print(f"best floor ÷ bare: {best / bare:.2f}  (the (c) bar is 0.40, before Forge's own work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
