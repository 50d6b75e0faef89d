"""Jobs: enqueue in the caller's transaction, visibility, and the worker's claim, lease,
heartbeat and finish. No HTTP; never commits (the caller's unit of work does).

Exactly once to completion: a job is finished only by the worker holding its lease
(`UPDATE … WHERE lease_owner = me AND status = 'running'`), in the transaction that also
commits the handler's effects, so a worker that lost its lease (it stalled past it and another
took over) finds nothing to update and its outcome is discarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, false, or_, select, update
from sqlalchemy.orm import Session

from forge.errors import NotFound
from forge.jobs.models import Job
from forge.keys.principal import Principal
from forge.sites.models import Environment, Site

RETENTION = timedelta(days=30)
DEFAULT_MAX_ATTEMPTS = 5


def enqueue(
    session: Session,
    *,
    type: str,
    team_id: str,
    mode: str,
    resource: tuple[str, str],
    payload: dict[str, Any] | None = None,
    created_by: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    job = Job(
        type=type,
        team_id=team_id,
        mode=mode,
        resource_type=resource[0],
        resource_id=resource[1],
        payload=payload or {},
        created_by=created_by,
        max_attempts=max_attempts,
        attempts=0,
        status="queued",
    )
    session.add(job)
    session.flush()
    return job


@dataclass(frozen=True)
class JobFilter:
    type: str | None = None
    status: str | None = None
    resource: str | None = None


def visible_jobs(principal: Principal, wanted: JobFilter | None = None) -> Select[Job]:
    """The key's team and mode; below the team, only jobs on environments it covers."""
    stmt = select(Job).where(Job.team_id == principal.team_id, Job.mode == principal.mode)
    constraint = principal.constraint
    if constraint is not None and constraint.type != "team":
        envs = select(Environment.id).join(Site, Site.id == Environment.site_id)
        if constraint.type == "project":
            envs = envs.where(Site.project_id == constraint.id)
        elif constraint.type == "site":
            envs = envs.where(Site.id == constraint.id)
        elif constraint.type == "environment":
            envs = envs.where(Environment.id == constraint.id)
        else:
            envs = envs.where(false())
        stmt = stmt.where(Job.resource_type == "environment", Job.resource_id.in_(envs))
    if wanted is not None:
        if wanted.type is not None:
            stmt = stmt.where(Job.type == wanted.type)
        if wanted.status is not None:
            stmt = stmt.where(Job.status == wanted.status)
        if wanted.resource is not None:
            stmt = stmt.where(Job.resource_id == wanted.resource)
    return stmt


def get_job(session: Session, principal: Principal, job_id: str) -> Job:
    job = session.scalar(visible_jobs(principal).where(Job.id == job_id))
    if job is None:
        raise NotFound(f"No job {job_id!r}.", param="job")
    return job


# --- the worker's side -------------------------------------------------------------------


def _runnable(now: datetime) -> Any:
    return or_(
        and_(Job.status == "queued", Job.run_after <= now),
        # Taken over: its worker stopped renewing the lease (it died, or stalls).
        and_(
            Job.status == "running",
            Job.lease_expires_at < now,
            Job.attempts < Job.max_attempts,
        ),
    )


def claim(
    session: Session, worker_id: str, types: list[str], lease: timedelta, now: datetime
) -> Job | None:
    """Take the oldest runnable job of these types under a lease. PostgreSQL: `FOR UPDATE
    SKIP LOCKED`, so concurrent workers take different jobs; SQLite: the transaction began
    with `BEGIN IMMEDIATE`, so claims run one at a time."""
    stmt = select(Job).where(_runnable(now), Job.type.in_(types)).order_by(Job.run_after)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job = session.scalars(stmt.limit(1)).first()
    if job is None:
        return None
    job.status = "running"
    job.lease_owner = worker_id
    job.lease_expires_at = now + lease
    job.attempts += 1
    job.started_at = job.started_at or now
    session.flush()
    return job


def fail_abandoned(session: Session, now: datetime) -> list[str]:
    """Jobs whose worker died on their last allowed attempt: failed, not taken over again."""
    stmt = select(Job).where(
        Job.status == "running", Job.lease_expires_at < now, Job.attempts >= Job.max_attempts
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    failed = []
    for job in session.scalars(stmt.limit(100)):
        job.status = "failed"
        job.error = {
            "code": "abandoned",
            "message": f"The worker running this job stopped {job.attempts} times; "
            "it was not started again.",
        }
        job.finished_at = now
        job.lease_expires_at = None
        failed.append(job.id)
    return failed


def _held(job_id: str, worker_id: str) -> Any:
    return and_(Job.id == job_id, Job.status == "running", Job.lease_owner == worker_id)


def renew_lease(
    session: Session, job_id: str, worker_id: str, lease: timedelta, now: datetime
) -> bool:
    """False when the worker no longer holds the job (another took it over)."""
    result: Any = session.execute(
        update(Job).where(_held(job_id, worker_id)).values(lease_expires_at=now + lease)
    )
    return bool(result.rowcount == 1)


def succeed(
    session: Session, job_id: str, worker_id: str, result: dict[str, Any], now: datetime
) -> bool:
    """Finish the job; False (and nothing changed) when the worker lost its lease."""
    outcome: Any = session.execute(
        update(Job)
        .where(_held(job_id, worker_id))
        .values(status="succeeded", result=result, finished_at=now, lease_expires_at=None)
    )
    return bool(outcome.rowcount == 1)


def fail(
    session: Session,
    job_id: str,
    worker_id: str,
    error: dict[str, Any],
    now: datetime,
    retry_at: datetime | None = None,
) -> bool:
    """Failed for good, or (`retry_at`) back in the queue for another attempt (the error of
    an attempt that will be retried is only logged: `error` is the job's final failure)."""
    values: dict[str, Any] = (
        {"status": "queued", "run_after": retry_at, "lease_owner": None}
        if retry_at is not None
        else {"status": "failed", "error": error, "finished_at": now}
    )
    outcome: Any = session.execute(
        update(Job).where(_held(job_id, worker_id)).values(lease_expires_at=None, **values)
    )
    return bool(outcome.rowcount == 1)


def release(session: Session, job_id: str, worker_id: str, now: datetime) -> bool:
    """A worker shutting down hands the job back at once (the attempt does not count)."""
    outcome: Any = session.execute(
        update(Job)
        .where(_held(job_id, worker_id))
        .values(
            status="queued",
            lease_owner=None,
            lease_expires_at=None,
            run_after=now,
            attempts=Job.attempts - 1,
        )
    )
    return bool(outcome.rowcount == 1)


def sweep(session: Session, now: datetime, keep: list[Select[Any]] | None = None) -> int:
    """Delete jobs finished more than 30 days ago (`keep`: selects of ids that must stay)."""
    stmt = delete(Job).where(
        Job.status.in_(("succeeded", "failed")), Job.finished_at < now - RETENTION
    )
    for ids in keep or ():
        stmt = stmt.where(Job.id.not_in(ids))
    result: Any = session.execute(stmt, execution_options={"synchronize_session": False})
    return int(result.rowcount)
