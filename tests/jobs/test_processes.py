"""Real `forge worker` processes on one database: a worker killed with kill -9 mid-job, or
frozen past its lease, and the job finishing exactly once on another worker."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from forge.cache import service as cache
from forge.db import Database
from forge.notify import LocalHub
from forge.sites.models import Environment
from tests.factories import Edges, World, principal_of
from tests.jobs.watch import finished_lines, held_by, job_of, until_finished_lines, until_job
from tests.processes import DEADLINE, ForgeProcess, forge_env


@pytest.fixture
def start_worker(
    database_url: str, database: Database, tmp_path: Path
) -> Iterator[Callable[[str], ForgeProcess]]:
    started: list[ForgeProcess] = []

    def start(name: str) -> ForgeProcess:
        env = forge_env(
            database_url,
            tmp_path / name,
            FORGE_JOB_LEASE_SECONDS="2",
            FORGE_EDGE_LEASE_SECONDS="3600",  # the test's edge row stays live without heartbeats
        )
        worker = ForgeProcess(["worker"], env, tmp_path / f"{name}.log")
        started.append(worker)
        worker.wait_for_output('"worker started"')
        return worker

    yield start
    for worker in started:
        worker.stop()


def _purge(world: World, database: Database) -> str:
    """A purge requested as the API does (through the service: no in-process worker here)."""
    team = world.team()
    env = world.environment(world.site(team), "production")
    principal = principal_of(database, world.owner_key(team).secret)
    with database.session() as session:
        loaded = session.get_one(Environment, env.id)
        job = cache.request_purge(session, LocalHub(), principal, loaded, cache.selector())
        return job.id


def _quiet(database: Database) -> bool:
    """No transaction is open on the database: a process frozen now holds no lock."""
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as connection:
            busy = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            return int(busy) == 0
    path = database.engine.url.database
    probe = sqlite3.connect(str(path), timeout=0.05, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def _freeze_between_transactions(worker: ForgeProcess, database: Database) -> None:
    """SIGSTOP, at a moment the worker holds no lock (a frozen holder of SQLite's write lock,
    or of a PostgreSQL row lock, would stall everyone: that is not what this test is about)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        worker.signal(signal.SIGSTOP)
        if _quiet(database):
            return
        worker.signal(signal.SIGCONT)
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_worker_killed_mid_job_is_taken_over_and_the_job_finishes_once(
    start_worker: Callable[[str], ForgeProcess], world: World, database: Database
) -> None:
    edges = Edges(database)
    edge = edges.register("edge-1")
    first = start_worker("first")
    job_id = _purge(world, database)
    until_job(database, job_id, held_by(first))  # waiting for the edge, mid-job
    first.signal(signal.SIGKILL)
    first.process.wait(DEADLINE)
    second = start_worker("second")
    job = until_job(database, job_id, held_by(second))
    assert job.attempts == 2
    edges.apply(edge, edges.seq_of(job_id), matched=4, evicted=4)
    job = until_job(database, job_id, lambda j: j.status == "succeeded")
    assert job.lease_owner is not None and job.lease_owner.startswith(f"wrk_{second.pid}_")
    assert job.result is not None
    assert [(e["edge"], e["evicted"]) for e in job.result["edges"]] == [(edge.id, 4)]
    assert len(until_finished_lines(second, job_id)) == 1
    assert finished_lines(first, job_id) == []


def test_a_worker_frozen_past_its_lease_cannot_finish_what_another_took_over(
    start_worker: Callable[[str], ForgeProcess], world: World, database: Database
) -> None:
    edges = Edges(database)
    edge = edges.register("edge-1")
    frozen = start_worker("frozen")
    job_id = _purge(world, database)
    until_job(database, job_id, held_by(frozen))
    _freeze_between_transactions(frozen, database)
    try:
        other = start_worker("other")
        until_job(database, job_id, held_by(other))
        edges.apply(edge, edges.seq_of(job_id), matched=1, evicted=1)
        job = until_job(database, job_id, lambda j: j.status == "succeeded")
    finally:
        frozen.signal(signal.SIGCONT)
    # Thawed, the first worker finds its lease gone and gives up without touching the job.
    frozen.wait_for_output('"job lease lost')
    after = job_of(database, job_id)
    assert (after.status, after.lease_owner, after.attempts) == ("succeeded", job.lease_owner, 2)
    assert after.lease_owner is not None and after.lease_owner.startswith(f"wrk_{other.pid}_")
    assert after.finished_at == job.finished_at and after.result == job.result
    assert len(until_finished_lines(other, job_id)) == 1
    assert finished_lines(frozen, job_id) == []
