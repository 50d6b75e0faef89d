"""Watching real `forge worker` processes work on jobs: who holds a job, and what each logged
as finished (for the kill -9 and frozen-worker tests, on one database or at scale)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from forge.db import Database
from forge.jobs.models import Job
from tests.processes import DEADLINE, ForgeProcess


def job_of(database: Database, job_id: str) -> Job:
    with database.session() as session:
        return session.get_one(Job, job_id)


def until_job(database: Database, job_id: str, ok: Callable[[Job], bool]) -> Job:
    deadline = time.monotonic() + DEADLINE
    while not ok(job := job_of(database, job_id)):
        assert time.monotonic() < deadline, (job.status, job.lease_owner, job.attempts)
        time.sleep(0.05)
    return job


def owned_by(job: Job, worker: ForgeProcess) -> bool:
    return (job.lease_owner or "").startswith(f"wrk_{worker.pid}_")


def held_by(worker: ForgeProcess) -> Callable[[Job], bool]:
    return lambda job: job.status == "running" and owned_by(job, worker)


def finished_lines(worker: ForgeProcess, job_id: str) -> list[dict[str, object]]:
    lines = [json.loads(x) for x in worker.output().splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("msg") == "job finished" and x.get("job") == job_id]


def until_finished_lines(worker: ForgeProcess, job_id: str) -> list[dict[str, object]]:
    """The worker's "job finished" lines for a job the database shows finished, once one is
    there: the worker logs it after its commit, so a test that saw the commit may be first."""
    deadline = time.monotonic() + DEADLINE
    while not (lines := finished_lines(worker, job_id)):
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.05)
    return lines
