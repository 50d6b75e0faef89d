"""Two `forge serve` processes sharing Redis and the database count and claim as one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from forge.db import Database
from tests.factories import SecretsWorld, World, secrets_path
from tests.ports import free_port as _free_port
from tests.ratelimit.conftest import PATIENT_SECONDS, REDIS_URL, forget_prefix, redis_prefix

FORGE = str(Path(sys.executable).parent / "forge")


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"forge serve never listened on {port}")


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    prefix = redis_prefix()
    env = {
        **os.environ,
        "FORGE_DATA_DIR": str(tmp_path / "data"),
        "FORGE_DATABASE_URL": database_url,
        "FORGE_REDIS_URL": REDIS_URL,
        "FORGE_REDIS_PREFIX": prefix,
        "FORGE_REDIS_TIMEOUT_SECONDS": str(PATIENT_SECONDS),
        "FORGE_RATELIMIT_READ": "100",
        "FORGE_RATELIMIT_CREATE": "100",
        # One unit per 36 s: nothing refills while the burst runs, so the count is exact.
        "FORGE_RATELIMIT_WINDOW": "3600",
    }
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [FORGE, "serve", "--port", str(port), "--edge-port", str(_free_port())],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            _wait_for(port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        forget_prefix(prefix)


def test_two_processes_admit_exactly_the_limit_between_them(
    two_servers: list[str], world: World
) -> None:
    key = world.owner_key()

    def get(number: int) -> int:
        base = two_servers[number % 2]
        return httpx.get(f"{base}/v1/projects", headers=key.headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(get, range(200)))
    # Every answer counted, so a failure shows what the others were, not only that 200s are short.
    assert Counter(statuses) == {200: 100, 429: 100}


def test_identical_posts_racing_across_processes_make_one_resource(
    two_servers: list[str], world: World, database: Database
) -> None:
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": "deploy-once"}

    def post(number: int) -> httpx.Response:
        base = two_servers[number % 2]
        return httpx.post(f"{base}/v1/projects", headers=headers, json={"slug": "once"}, timeout=30)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, range(16)))
    ran = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(ran) == 1
    assert {a.status_code for a in answers} <= {201, 409}
    replayed = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
    assert all(a.json() == ran[0].json() for a in replayed)
    with database.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM projects WHERE slug = 'once'"))
        assert count.scalar() == 1


def test_concurrent_writes_counted_in_redis_are_all_served(
    two_servers: list[str], world: World
) -> None:
    """Stage 3 awaits Redis: no unit of work may hold SQLite's write lock across that await
    (the next request on the loop waited on the lock with the loop blocked, and both stalled
    until the busy timeout: 500 `database is locked` after 10 s)."""
    w = SecretsWorld.make(world)

    def put(number: int) -> int:
        base = two_servers[number % 2]
        path = secrets_path(w.env, f"CONCURRENT_{number}")
        answer = httpx.put(
            f"{base}{path}", headers=w.owner.headers, json={"value": "v"}, timeout=30
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(put, range(40)))
    assert statuses == [200] * 40
