"""The job as the API shows it (the body of every 202 that queues work)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from forge.jobs.models import Job
from forge.schemas import Timestamp

JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobResource(BaseModel):
    type: str = Field(examples=["environment"])
    id: str = Field(examples=["env_01J8D9"])


class JobOut(BaseModel):
    id: str = Field(examples=["job_01J9TT"])
    type: str = Field(examples=["cache.purge"])
    status: JobStatus = Field(description="queued → running → succeeded | failed")
    created_at: Timestamp
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    resource: JobResource
    result: dict[str, Any] | None = Field(
        default=None, description="What the job did, once it succeeded (per type: docs/jobs.md)."
    )
    error: dict[str, Any] | None = Field(
        default=None, description="`{code, message, …}` once it failed."
    )
    attempts: int = Field(description="Times a worker has started it.")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            type=job.type,
            status=job.status,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            resource=JobResource(type=job.resource_type, id=job.resource_id),
            result=job.result,
            error=job.error,
            attempts=job.attempts,
        )
