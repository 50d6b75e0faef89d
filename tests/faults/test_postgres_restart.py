"""PostgreSQL stopped and started again under a stream of reads and writes, on a private
cluster: while it is down every request is answered 503 `service_unavailable` within seconds
(none hangs, none is a 500), and once it is back requests succeed again without restarting
Forge. Nothing accepted is lost, nothing is half-written, a revoked key stays refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forge import migrate
from forge.db import STATEMENT_TIMEOUT_SECONDS, Database
from tests.conftest import BACKEND
from tests.factories import SecretsWorld, World
from tests.faults.services import PrivatePostgres
from tests.faults.traffic import (
    Answer,
    Traffic,
    assert_nothing_lost,
    assert_unavailable,
    revoke_through,
)
from tests.served import ForgeServer

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="a PostgreSQL fault")

# No refusal of our own in the way: the limits are not what this test is about.
UNLIMITED = {"FORGE_RATELIMIT_READ": "1000000", "FORGE_RATELIMIT_WRITE": "1000000"}


@pytest.fixture
def cluster() -> Iterator[PrivatePostgres]:
    postgres = PrivatePostgres()
    try:
        postgres.start()
        yield postgres
    finally:
        postgres.destroy()


@pytest.fixture
def private_database(cluster: PrivatePostgres) -> Iterator[Database]:
    database = Database(cluster.url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def _write_ok(answer: Answer) -> bool:
    return answer.kind == "write" and answer.status == 200


def test_requests_fail_fast_with_503_while_postgres_is_down_and_recover_after(
    cluster: PrivatePostgres, private_database: Database, tmp_path: Path
) -> None:
    w = SecretsWorld.make(World(private_database))
    with ForgeServer(cluster.url, tmp_path / "data", env=UNLIMITED) as server:
        revoked = revoke_through(server.base, w.owner)
        with Traffic(server.base, w.owner, w.env) as traffic:
            traffic.wait_for(_write_ok, sent_after=time.monotonic())
            stopping = time.monotonic()
            cluster.stop()
            down = time.monotonic()
            first_503 = traffic.wait_for(lambda a: a.status == 503, sent_after=stopping)
            for kind in ("write", "read"):  # both kinds, sent once it was wholly down
                traffic.wait_for(lambda a, k=kind: a.kind == k and a.status == 503, down)
            starting = time.monotonic()
            cluster.start()
            up = time.monotonic()
            recovered = traffic.wait_for(_write_ok, sent_after=up)
        private_database.engine.dispose()  # its pooled connections died with the server

        outage = [a for a in traffic.answers if down <= a.sent and a.answered_at <= starting]
        assert outage and all(a.status == 503 for a in outage), outage
        for answer in traffic.answers:
            assert answer.status in (200, 503), answer
            if answer.status == 503:
                assert_unavailable(answer)
                # Refused within the statement timeout, never left waiting on the database.
                assert answer.took < STATEMENT_TIMEOUT_SECONDS + 1, answer
        assert_nothing_lost(private_database, traffic, revoked)
    print(
        f"\nfault figures: postgresql stop->first 503 {first_503.answered_at - stopping:.3f} s;"
        f" slowest 503 {max(a.took for a in outage):.3f} s;"
        f" back up->first accepted write {recovered.answered_at - up:.3f} s;"
        f" answers {len(traffic.answers)}, 503s {sum(a.status == 503 for a in traffic.answers)}"
    )
