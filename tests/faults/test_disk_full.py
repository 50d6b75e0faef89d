"""Embedded SQLite with its data directory on a small filesystem that the test fills: writes
are refused with a clear 503 (never a 500), reads go on, nothing is half-written, and once
space returns writes succeed again without restarting Forge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from forge import migrate
from forge.db import Database
from tests.assertions import assert_error, data_of
from tests.conftest import BACKEND
from tests.factories import SecretsWorld, World, secrets_path
from tests.faults.services import SmallDisk
from tests.faults.traffic import (
    assert_still_revoked,
    assert_writes_whole,
    revoke_through,
)
from tests.served import ForgeServer

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="embedded SQLite's disk")

UNLIMITED = {
    "FORGE_RATELIMIT_READ": "1000000",
    "FORGE_RATELIMIT_WRITE": "1000000",
    "FORGE_RATELIMIT_CREATE": "1000000",
}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path / "disk", megabytes=16)
    try:
        yield small
    finally:
        small.unmount()


@pytest.fixture
def embedded(disk: SmallDisk) -> Iterator[Database]:
    database = Database(f"sqlite:///{disk.path / 'forge.db'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


class Writes:
    """Secret values set through the server, each under a fresh name; what was answered."""

    def __init__(self, http: httpx.Client, w: SecretsWorld) -> None:
        self.http, self.w = http, w
        self.attempted: dict[str, str] = {}
        self.accepted: dict[str, str] = {}

    def put(self, name: str) -> httpx.Response:
        value = f"value-of-{name}"
        self.attempted[name] = value
        response = self.http.put(
            secrets_path(self.w.env, name), headers=self.w.owner.headers, json={"value": value}
        )
        if response.status_code == 200:
            self.accepted[name] = value
        return response


def _empty_the_wal(database: Database) -> None:
    """Checkpoint and truncate the WAL, so that the next commit needs new space on the disk
    (a WAL keeps its size after a checkpoint, and a commit fitting in it needs none)."""
    connection = database.engine.raw_connection()  # outside a transaction: no BEGIN first
    try:
        busy, _, _ = connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    assert busy == 0


def _assert_disk_full(response: httpx.Response) -> None:
    error = assert_error(response, 503, "service_unavailable")
    assert "disk" in error["message"], error
    assert response.headers["retry-after"] == "1"


def test_a_full_disk_refuses_writes_with_503_and_they_resume_once_space_returns(
    disk: SmallDisk, embedded: Database, tmp_path: Path
) -> None:
    w = SecretsWorld.make(World(embedded))
    url = f"sqlite:///{disk.path / 'forge.db'}"
    with ForgeServer(url, disk.path, env=UNLIMITED) as server:
        revoked = revoke_through(server.base, w.owner)
        writes = Writes(server.http, w)
        for number in range(3):
            data_of(writes.put(f"BEFORE_{number}"))
        _empty_the_wal(embedded)
        disk.fill()

        full = time.monotonic()
        _assert_disk_full(writes.put("WHILE_FULL_0"))
        refused_in = time.monotonic() - full
        _assert_disk_full(writes.put("WHILE_FULL_1"))
        create = server.http.post(
            "/v1/api-keys",
            headers={**w.owner.headers, "Idempotency-Key": "minted-while-full"},
            json={"name": "while-full", "scopes": ["secrets:read"]},
        )
        _assert_disk_full(create)
        listed = server.http.get(secrets_path(w.env), headers=w.owner.headers)
        assert [s["key"] for s in data_of(listed)] == ["BEFORE_0", "BEFORE_1", "BEFORE_2"]

        disk.free()
        freed = time.monotonic()
        data_of(writes.put("AFTER_0"))
        recovered_in = time.monotonic() - freed
        # The refused create stored no claim: the same Idempotency-Key runs afresh.
        retried = server.http.post(
            "/v1/api-keys",
            headers={**w.owner.headers, "Idempotency-Key": "minted-while-full"},
            json={"name": "while-full", "scopes": ["secrets:read"]},
        )
        assert "idempotent-replayed" not in retried.headers
        minted = data_of(retried, 201)
        assert server.http.get("/v1/api-keys/self", headers=bearer_of(minted)).status_code == 200
        assert_still_revoked(server.base, revoked)

    with embedded.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert set(writes.accepted) == {"BEFORE_0", "BEFORE_1", "BEFORE_2", "AFTER_0"}
    assert_writes_whole(embedded, w.env, writes.accepted, writes.accepted)
    print(
        f"\nfault figures: sqlite disk full->503 {refused_in:.3f} s;"
        f" space back->first accepted write {recovered_in:.3f} s"
    )


def bearer_of(minted: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {minted['secret']}"}
