"""The worker loop in-process: handlers by type, effects committed with success, retries,
final failures, a lost lease, a clean hand-back at shutdown, and JOB_FINISHED after commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forge.audit.models import AuditEvent
from forge.audit.service import record
from forge.config import Settings
from forge.db import Database
from forge.jobs.models import Job
from forge.jobs.registry import JobFailed, JobRun, JobType, Outcome
from forge.jobs.worker import Worker
from forge.notify import JOB_FINISHED, JOB_QUEUED, LocalHub
from tests.jobs.conftest import Jobs

DEADLINE = 30.0

Handler = Callable[[JobRun], Awaitable[Outcome]]


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(DEADLINE):
        while not condition():
            await asyncio.sleep(0.02)


def _status(jobs: Jobs, job_id: str) -> str:
    return jobs.get(job_id).status


def _run_with(
    settings: Settings,
    database: Database,
    handler: Handler,
    scenario: Callable[[Worker, LocalHub], Awaitable[Any]],
) -> Any:
    async def main() -> Any:
        hub = LocalHub()
        types = {"test.echo": JobType("test.echo", handler, "effects-with-success")}
        worker = Worker(database, hub, settings, types, worker_id="wrk_test")
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            return await scenario(worker, hub)
        finally:
            stop.set()
            await task

    return asyncio.run(main())


def _audit_effect(team_id: str, marker: str) -> Callable[[Session], None]:
    def effects(session: Session) -> None:
        record(session, team_id=team_id, action="test.effect", actor=None, data={"m": marker})

    return effects


def _effects_written(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [
            e.data
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "test.effect"))
        ]


def test_a_job_runs_once_and_its_effects_commit_with_succeeded(
    jobs: Jobs, database: Database, worker_settings: Settings
) -> None:
    async def handler(run: JobRun) -> Outcome:
        return Outcome({"echo": run.payload["say"]}, _audit_effect(run.team_id, run.job_id))

    async def scenario(worker: Worker, hub: LocalHub) -> tuple[str, bool]:
        with hub.listen(JOB_FINISHED) as finished:
            job_id = jobs.enqueue(say="hi")
            hub.publish(JOB_QUEUED, job_id)
            await finished.wait(DEADLINE)
            # Published after the commit: the finish is already in the database.
            return job_id, _status(jobs, job_id) == "succeeded"

    job_id, finished_when_told = _run_with(worker_settings, database, handler, scenario)
    assert finished_when_told
    job = jobs.get(job_id)
    assert (job.status, job.result, job.attempts, job.error) == (
        "succeeded",
        {"echo": "hi"},
        1,
        None,
    )
    assert job.finished_at is not None and job.lease_owner == "wrk_test"
    assert _effects_written(database) == [{"m": job_id}]


def test_job_failed_ends_the_job_with_its_error_and_no_retry(
    jobs: Jobs, database: Database, worker_settings: Settings
) -> None:
    calls: list[int] = []

    async def handler(run: JobRun) -> Outcome:
        calls.append(run.attempt)
        raise JobFailed("no_way", "It cannot be done.", detail=3)

    async def scenario(worker: Worker, hub: LocalHub) -> str:
        job_id = jobs.enqueue()
        await _until(lambda: _status(jobs, job_id) == "failed")
        return job_id

    job_id = _run_with(worker_settings, database, handler, scenario)
    job = jobs.get(job_id)
    assert job.error == {"code": "no_way", "message": "It cannot be done.", "detail": 3}
    assert calls == [1] and job.attempts == 1


def test_a_handler_that_raises_is_retried_and_then_succeeds(
    jobs: Jobs, database: Database, worker_settings: Settings
) -> None:
    async def handler(run: JobRun) -> Outcome:
        if run.attempt == 1:
            raise RuntimeError("transient")
        return Outcome({"attempt": run.attempt})

    async def scenario(worker: Worker, hub: LocalHub) -> str:
        job_id = jobs.enqueue()
        await _until(lambda: jobs.get(job_id).attempts == 1 and _status(jobs, job_id) == "queued")
        assert jobs.get(job_id).error is None  # a retried attempt's error is not the job's
        await _until(lambda: _status(jobs, job_id) == "succeeded")
        return job_id

    job_id = _run_with(worker_settings, database, handler, scenario)
    assert jobs.get(job_id).result == {"attempt": 2}


def test_a_worker_that_lost_its_lease_stops_and_commits_nothing(
    jobs: Jobs, database: Database, worker_settings: Settings
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handler(run: JobRun) -> Outcome:
        started.set()
        try:
            await asyncio.sleep(DEADLINE)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Outcome({"late": True}, _audit_effect(run.team_id, "late"))

    async def scenario(worker: Worker, hub: LocalHub) -> str:
        job_id = jobs.enqueue()
        await asyncio.wait_for(started.wait(), DEADLINE)
        with database.session() as session:  # another worker took it over
            session.execute(update(Job).where(Job.id == job_id).values(lease_owner="wrk_other"))
        await asyncio.wait_for(cancelled.wait(), DEADLINE)
        return job_id

    job_id = _run_with(worker_settings, database, handler, scenario)
    job = jobs.get(job_id)
    assert (job.status, job.lease_owner, job.result) == ("running", "wrk_other", None)
    assert _effects_written(database) == []


def test_shutdown_hands_a_running_job_back_at_once(
    jobs: Jobs, database: Database, worker_settings: Settings
) -> None:
    started = asyncio.Event()

    async def handler(run: JobRun) -> Outcome:
        started.set()
        await asyncio.sleep(DEADLINE)
        return Outcome({})

    async def scenario(worker: Worker, hub: LocalHub) -> str:
        job_id = jobs.enqueue()
        await asyncio.wait_for(started.wait(), DEADLINE)
        return job_id

    job_id = _run_with(worker_settings, database, handler, scenario)  # stops the worker
    job = jobs.get(job_id)
    assert (job.status, job.attempts, job.lease_owner, job.result) == ("queued", 0, None, None)


def test_jobs_run_concurrently_up_to_the_limit(
    jobs: Jobs, database: Database, worker_settings: Settings
) -> None:
    running: set[str] = set()
    most = 0
    release = asyncio.Event()

    async def handler(run: JobRun) -> Outcome:
        nonlocal most
        running.add(run.job_id)
        most = max(most, len(running))
        await release.wait()
        running.discard(run.job_id)
        return Outcome({})

    async def scenario(worker: Worker, hub: LocalHub) -> list[str]:
        made = [jobs.enqueue() for _ in range(6)]
        await _until(lambda: len(running) == worker_settings.worker_concurrency)
        release.set()
        await _until(lambda: all(_status(jobs, j) == "succeeded" for j in made))
        return made

    _run_with(worker_settings, database, handler, scenario)
    assert most == worker_settings.worker_concurrency == 4


def test_the_worker_outlives_an_unreachable_database(
    worker_settings: Settings, tmp_path: Any, log_stream: Any
) -> None:
    gone = Database(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'forge.db'}")

    async def handler(run: JobRun) -> Outcome:
        return Outcome({})

    async def scenario(worker: Worker, hub: LocalHub) -> None:
        async with asyncio.timeout(DEADLINE):
            while "worker cannot reach the database" not in log_stream.getvalue():
                hub.publish(JOB_QUEUED)  # wake it: it tries again, and again fails
                await asyncio.sleep(0.05)

    try:
        _run_with(worker_settings, gone, handler, scenario)  # stops cleanly
    finally:
        gone.dispose()
    assert "worker stopped" in log_stream.getvalue()
