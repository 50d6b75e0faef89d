"""Job types: what runs a job of each type, and what a handler gets and gives back.

Every type says how it keeps "exactly once to completion" (docs/jobs.md): either its effects
are database writes returned as `Outcome.effects`, committed in the transaction that marks the
job succeeded (a worker that lost its lease commits neither), or it is safe to repeat (a
takeover may run it again from the start).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Select
from sqlalchemy.orm import Session

from forge.config import Settings
from forge.db import Database
from forge.notify import Notifier


@dataclass(frozen=True)
class JobRun:
    """One attempt at a job, as its handler sees it."""

    job_id: str
    type: str
    team_id: str
    mode: str
    resource_id: str
    payload: dict[str, Any]
    attempt: int
    worker_id: str
    database: Database
    notifier: Notifier
    settings: Settings


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    # Database writes committed with `succeeded`, in the same transaction.
    effects: Callable[[Session], None] | None = None
    # Published after that transaction commits: (channel, message).
    notifications: tuple[tuple[str, str], ...] = ()


class JobFailed(Exception):
    """The job cannot succeed; it is failed now with this error, not retried."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message, **details}


@dataclass(frozen=True)
class JobType:
    name: str
    run: Callable[[JobRun], Awaitable[Outcome]]
    guarantee: Literal["effects-with-success", "safe-to-repeat"]
    # Ids of finished jobs the retention sweep must keep anyway (see forge.cache.purge_job).
    retained: Callable[[], Select[Any]] | None = field(default=None)


def default_types() -> dict[str, JobType]:
    """Every job type Forge runs."""
    from forge.cache.purge_job import PURGE_JOB

    return {job_type.name: job_type for job_type in (PURGE_JOB,)}
