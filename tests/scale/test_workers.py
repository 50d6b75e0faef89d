"""Two `forge worker`s on PostgreSQL: one killed with kill -9 mid-job, and every job it held
finished exactly once by the other."""

from __future__ import annotations

import signal
from collections.abc import Callable

from sqlalchemy import func, select

from forge.cache.models import EdgePurgeResult
from forge.cache.service import PURGE_JOB_TYPE
from forge.db import Database
from forge.jobs.models import Job
from tests.factories import Edges, World
from tests.jobs.watch import (
    finished_lines,
    held_by,
    job_of,
    owned_by,
    until_finished_lines,
    until_job,
)
from tests.processes import DEADLINE
from tests.scale.conftest import Cluster, request_purge

JOBS = 4


def _purges(cluster: Cluster, world: World, count: int) -> list[str]:
    """`count` purge jobs, requested through one API process and the other in turn."""
    team = world.team()
    env = world.environment(world.site(team), "production")
    headers = world.owner_key(team).headers
    return [request_purge(cluster.apis[i % 2], env, headers, f"t{i}") for i in range(count)]


def _edges_per_purge(database: Database) -> list[int]:
    with database.session() as session:
        counted = session.execute(
            select(func.count()).select_from(EdgePurgeResult).group_by(EdgePurgeResult.purge_seq)
        )
        return [int(n) for (n,) in counted]


def test_a_worker_killed_mid_job_loses_no_job_and_runs_none_twice(
    start_cluster: Callable[..., Cluster], world: World, database: Database
) -> None:
    # A short job lease, so the survivor takes over quickly; an edge row of the test's own
    # that stays live without heartbeats holds every purge mid-job until the test applies it.
    cluster = start_cluster(FORGE_JOB_LEASE_SECONDS="2", FORGE_EDGE_LEASE_SECONDS="3600")
    edges = Edges(database)
    holding = edges.register("edge-held")
    jobs = _purges(cluster, world, JOBS)
    workers = cluster.workers
    for job_id in jobs:
        until_job(database, job_id, lambda j: any(held_by(w)(j) for w in workers))
    victim = next(w for w in workers if owned_by(job_of(database, jobs[0]), w))
    survivor = next(w for w in workers if w is not victim)
    taken = {j for j in jobs if owned_by(job_of(database, j), victim)}
    victim.signal(signal.SIGKILL)
    victim.process.wait(DEADLINE)

    for job_id in taken:
        assert until_job(database, job_id, held_by(survivor)).attempts == 2
    for job_id in jobs:
        edges.apply(holding, edges.seq_of(job_id), matched=1, evicted=1)
    finished = [until_job(database, j, lambda job: job.status != "running") for j in jobs]

    assert [job.status for job in finished] == ["succeeded"] * JOBS
    assert all(owned_by(job, survivor) for job in finished if job.id in taken)
    assert [job.attempts for job in finished] == [2 if j in taken else 1 for j in jobs]
    # Each purge proved by the test's edge and both real edges.
    assert [len(job.result["edges"]) for job in finished if job.result] == [3] * JOBS
    assert _edges_per_purge(database) == [3] * JOBS
    for job_id in jobs:
        # The victim is dead before any could finish: the survivor logged each, exactly once.
        assert len(until_finished_lines(survivor, job_id)) == 1
        # None could finish before the test's edge applied it, and by then it was dead.
        assert finished_lines(victim, job_id) == []
    with database.session() as session:
        purges = select(func.count()).select_from(Job).where(Job.type == PURGE_JOB_TYPE)
        assert session.scalar(purges) == JOBS
    assert survivor.process.poll() is None
