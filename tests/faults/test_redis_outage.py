"""A private Redis stopped and started under a `forge serve` that counts its rate limits there.
What docs/rate-limits.md promises, exactly: while Redis is down requests keep being served and
each process counts the configured limit in-process (never no limit), `/readyz` stays 200 and
says so; once Redis is back (and the 5 s retry interval has passed) counting is in Redis again
and a 429 comes back at the limit. No write is refused or lost on the way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from forge.db import Database
from forge.ratelimit.backends import RedisBackend
from forge.secrets.rules import KEYS_PER_ENVIRONMENT
from tests.assertions import assert_error, data_of
from tests.factories import Key, SecretsWorld, World
from tests.faults.services import PrivateRedis
from tests.faults.traffic import (
    DEADLINE,
    Traffic,
    assert_nothing_lost,
    revoke_through,
)
from tests.served import ForgeServer

LIMIT = 10  # reads per window
PREFIX = "forge-fault:"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(
    database_url: str, database: Database, private_redis: PrivateRedis, tmp_path: Path
) -> Iterator[ForgeServer]:
    env = {
        "FORGE_REDIS_URL": private_redis.url,
        "FORGE_REDIS_PREFIX": PREFIX,
        "FORGE_RATELIMIT_READ": str(LIMIT),
        "FORGE_RATELIMIT_WRITE": "1000000",
        # One unit back per 6 minutes: nothing refills while the test runs, so counts are exact.
        "FORGE_RATELIMIT_WINDOW": "3600",
    }
    with ForgeServer(database_url, tmp_path / "data", env=env) as started:
        yield started


def _read(server: ForgeServer, key: Key) -> httpx.Response:
    return server.http.get("/v1/projects", headers=key.headers)


def _spend_reads(server: ForgeServer, key: Key, remaining: range) -> None:
    """Reads answered 200, leaving exactly `remaining` units one after the other."""
    for left in remaining:
        response = _read(server, key)
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-remaining"] == str(left)


def _assert_refused_at_the_limit(server: ForgeServer, key: Key) -> None:
    response = _read(server, key)
    assert_error(response, 429, "rate_limited")
    assert response.headers["x-ratelimit-bucket"] == "read"


def _counted_in(private_redis: PrivateRedis) -> list[bytes]:
    client = redis.Redis(port=private_redis.port)
    try:
        return sorted(client.scan_iter(match=f"{PREFIX}rl:*"))
    finally:
        client.close()


def _rate_limits_check(server: ForgeServer) -> str:
    ready = server.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = data_of(ready)["checks"]
    assert checks["database"] == "ok"
    check: str = checks["rate_limits"]
    return check


def test_requests_go_on_through_a_redis_outage_and_limits_resume_after(
    server: ForgeServer, private_redis: PrivateRedis, world: World, database: Database
) -> None:
    w = SecretsWorld.make(world)
    reader = world.owner_key(w.team)
    revoked = revoke_through(server.base, w.owner)
    # Every write a new name: fewer than an environment holds, so none is refused for room
    # (on a quiet machine the threads may send them all before the test ends).
    writes = KEYS_PER_ENVIRONMENT - 10
    with Traffic(server.base, w.owner, w.env, kinds=("write",), threads=2, limit=writes) as traffic:
        _spend_reads(server, reader, range(LIMIT - 1, LIMIT - 5, -1))  # 9..6 left, in Redis
        assert _counted_in(private_redis)
        assert _rate_limits_check(server) == "ok"

        stopped = time.monotonic()
        private_redis.stop()
        # The outage: this process counts in-process from a full bucket, the limit unchanged.
        _spend_reads(server, reader, range(LIMIT - 1, -1, -1))
        first_local = time.monotonic() - stopped
        _assert_refused_at_the_limit(server, reader)
        check = _rate_limits_check(server)
        assert check.startswith("redis unreachable (") and check.endswith("); counting in-process")

        private_redis.start()
        up = time.monotonic()
        # Within the retry interval the process still counts in-process (and refuses); then
        # it asks Redis again, which restarted empty: a full bucket, shared again.
        while (response := _read(server, reader)).status_code == 429:
            assert time.monotonic() - up < RedisBackend.RETRY_SECONDS + DEADLINE, response.text
            time.sleep(0.1)
        resumed = time.monotonic() - up
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-remaining"] == str(LIMIT - 1)
        assert _rate_limits_check(server) == "ok"
        _spend_reads(server, reader, range(LIMIT - 2, -1, -1))
        _assert_refused_at_the_limit(server, reader)
        assert _counted_in(private_redis)
        assert traffic.send_one().status == 200  # a write once Redis is back

    assert {a.status for a in traffic.answers} == {200}, "a write was refused during the outage"
    assert_nothing_lost(database, traffic, revoked)
    print(
        f"\nfault figures: redis stop->{LIMIT} in-process reads served {first_local:.3f} s;"
        f" redis back->counted in Redis again {resumed:.3f} s (retry interval"
        f" {RedisBackend.RETRY_SECONDS:.0f} s); writes served throughout {len(traffic.answers)}"
    )
