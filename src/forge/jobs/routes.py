"""Job routes: /v1/jobs and /v1/jobs/{job} (with ?wait)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope, ListEnvelope, Page, paginate
from forge.http.routing import ForgeRoute
from forge.jobs import service, waiting
from forge.jobs.access import AppNotifier, job_of, job_resolver
from forge.jobs.models import Job
from forge.jobs.schemas import JobOut, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=ForgeRoute)

JobsRead = Annotated[Access, Scoped("jobs:read")]
JobRead = Annotated[Access, Scoped("jobs:read", job_resolver)]
Wait = Annotated[
    int,
    Query(
        ge=0,
        le=waiting.MAX_WAIT_SECONDS,
        description="Seconds (0–30) to hold the answer until the job has finished.",
    ),
]


@router.get("", summary="List jobs, newest first")
def list_jobs(
    access: JobsRead,
    page: Page,
    type: Annotated[str | None, Query(max_length=64, examples=["cache.purge"])] = None,
    status: JobStatus | None = None,
    resource: Annotated[
        str | None, Query(max_length=64, description="The id of the resource it acts on")
    ] = None,
) -> ListEnvelope[JobOut]:
    wanted = service.JobFilter(type=type, status=status, resource=resource)
    rows, has_more = paginate(
        access.session, service.visible_jobs(access.principal, wanted), Job.id, page
    )
    return ListEnvelope(data=[JobOut.of(job) for job in rows], has_more=has_more)


@router.get("/{job}", summary="Get a job (optionally waiting until it finishes)")
async def get_job(access: JobRead, notifier: AppNotifier, wait: Wait = 0) -> Envelope[JobOut]:
    job = await waiting.until_finished(access, notifier, job_of(access), wait)
    return Envelope(data=JobOut.of(job))
