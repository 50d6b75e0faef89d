"""The claim, the lease and the takeover, on the database itself (both backends)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from forge.clock import utcnow
from forge.db import Database
from forge.jobs import service
from forge.jobs.models import Job
from tests.jobs.conftest import Jobs

LEASE = timedelta(seconds=10)
TYPES = ["test.echo"]


def _claim(database: Database, worker: str, at: timedelta = timedelta(0)) -> str | None:
    with database.session() as session:
        job = service.claim(session, worker, TYPES, LEASE, utcnow() + at)
        return job.id if job else None


def test_a_claim_takes_the_oldest_queued_job_under_a_lease(jobs: Jobs, database: Database) -> None:
    first, second = jobs.enqueue(), jobs.enqueue()
    assert _claim(database, "w1") == first
    job = jobs.get(first)
    assert (job.status, job.lease_owner, job.attempts) == ("running", "w1", 1)
    assert job.started_at is not None and job.lease_expires_at == job.started_at + LEASE
    assert _claim(database, "w2") == second
    assert _claim(database, "w3") is None


def test_only_registered_types_are_claimed(jobs: Jobs, database: Database) -> None:
    jobs.enqueue(type="other.type")
    assert _claim(database, "w1") is None


def test_concurrent_claimers_never_take_the_same_job(jobs: Jobs, database: Database) -> None:
    made = {jobs.enqueue() for _ in range(30)}
    taken: dict[str, list[str]] = {f"w{i}": [] for i in range(4)}

    def claimer(worker: str) -> None:
        while (job_id := _claim(database, worker)) is not None:
            taken[worker].append(job_id)

    threads = [threading.Thread(target=claimer, args=(w,)) for w in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [job_id for ids in taken.values() for job_id in ids]
    assert sorted(claimed) == sorted(made)  # every job once, none twice


def test_an_expired_lease_is_taken_over_and_the_first_worker_cannot_finish(
    jobs: Jobs, database: Database
) -> None:
    job_id = jobs.enqueue()
    assert _claim(database, "dead") == job_id
    assert _claim(database, "w2") is None  # the lease still holds
    assert _claim(database, "w2", at=LEASE + timedelta(seconds=1)) == job_id
    job = jobs.get(job_id)
    assert (job.lease_owner, job.attempts) == ("w2", 2)
    with database.session() as session:
        now = utcnow()
        assert not service.renew_lease(session, job_id, "dead", LEASE, now)
        assert not service.succeed(session, job_id, "dead", {"by": "dead"}, now)
        assert service.renew_lease(session, job_id, "w2", LEASE, now)
        assert service.succeed(session, job_id, "w2", {"by": "w2"}, now)
    job = jobs.get(job_id)
    assert (job.status, job.result, job.lease_owner) == ("succeeded", {"by": "w2"}, "w2")
    assert _claim(database, "w3", at=LEASE * 3) is None  # finished jobs are never claimed


def test_a_job_whose_worker_died_on_its_last_attempt_fails(jobs: Jobs, database: Database) -> None:
    job_id = jobs.enqueue(max_attempts=2)
    assert _claim(database, "a") == job_id
    assert _claim(database, "b", at=LEASE * 2) == job_id
    later = utcnow() + LEASE * 4
    with database.session() as session:
        assert service.claim(session, "c", TYPES, LEASE, later) is None
        assert service.fail_abandoned(session, later) == [job_id]
    job = jobs.get(job_id)
    assert job.status == "failed" and job.attempts == 2
    assert job.error is not None and job.error["code"] == "abandoned"


def test_a_failed_attempt_is_retried_later_and_a_final_failure_keeps_its_error(
    jobs: Jobs, database: Database
) -> None:
    job_id = jobs.enqueue()
    assert _claim(database, "w") == job_id
    with database.session() as session:
        retry_at = utcnow() + timedelta(seconds=30)
        assert service.fail(session, job_id, "w", {"code": "x"}, utcnow(), retry_at=retry_at)
    job = jobs.get(job_id)
    assert (job.status, job.error, job.lease_owner) == ("queued", None, None)
    assert _claim(database, "w") is None  # not before run_after
    assert _claim(database, "w", at=timedelta(seconds=31)) == job_id
    with database.session() as session:
        assert service.fail(session, job_id, "w", {"code": "boom", "message": "m"}, utcnow())
    job = jobs.get(job_id)
    assert (job.status, job.error, job.attempts) == ("failed", {"code": "boom", "message": "m"}, 2)
    assert job.finished_at is not None


def test_a_released_job_is_queued_again_without_counting_the_attempt(
    jobs: Jobs, database: Database
) -> None:
    job_id = jobs.enqueue()
    assert _claim(database, "stopping") == job_id
    with database.session() as session:
        assert service.release(session, job_id, "stopping", utcnow())
    job = jobs.get(job_id)
    assert (job.status, job.attempts, job.lease_owner) == ("queued", 0, None)
    assert _claim(database, "next") == job_id


def _finish_at(database: Database, job_id: str, age: timedelta) -> None:
    with database.session() as session:
        job = session.get_one(Job, job_id)
        job.status, job.finished_at = "succeeded", utcnow() - age


def test_finished_jobs_are_kept_30_days(jobs: Jobs, database: Database) -> None:
    old, recent, queued = jobs.enqueue(), jobs.enqueue(), jobs.enqueue()
    _finish_at(database, old, timedelta(days=30, minutes=1))
    _finish_at(database, recent, timedelta(days=29, hours=23))
    with database.session() as session:
        assert service.sweep(session, utcnow()) == 1
    with database.session() as session:
        left = set(session.scalars(select(Job.id)))
    assert left == {recent, queued}


def test_the_sweep_keeps_what_a_job_type_retains(jobs: Jobs, database: Database) -> None:
    kept, removed = jobs.enqueue(), jobs.enqueue()
    for job_id in (kept, removed):
        _finish_at(database, job_id, timedelta(days=40))
    keep = select(Job.id).where(Job.id == kept)
    with database.session() as session:
        assert service.sweep(session, utcnow(), [keep]) == 1
    assert jobs.get(kept).id == kept
