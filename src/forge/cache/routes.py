"""Cache routes: /v1/sites/{site}/environments/{env}/cache and …/cache/purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from forge.cache import service
from forge.cache.schemas import CacheOut, CacheUpdate, PurgeRequest
from forge.clock import utcnow
from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope
from forge.http.routing import ForgeRoute
from forge.jobs.access import AppNotifier
from forge.jobs.models import Job
from forge.jobs.schemas import JobOut
from forge.sites.access import environment_of, environment_resolver, environment_row_of
from forge.sites.service import EnvironmentLike

router = APIRouter(
    prefix="/v1/sites/{site}/environments/{env}/cache", tags=["cache"], route_class=ForgeRoute
)

CacheRead = Annotated[Access, Scoped("cache:read", environment_resolver)]
CacheWrite = Annotated[Access, Scoped("cache:write", environment_resolver)]
CachePurge = Annotated[Access, Scoped("cache:write", environment_resolver, bucket="write")]


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: the purge is in the log and its job is queued.",
        "headers": {
            "Location": {"description": "/v1/jobs/{id}", "schema": {"type": "string"}},
            "Retry-After": {
                "description": "Seconds before looking: 1",
                "schema": {"type": "integer"},
            },
        },
    }
}


EMPTY_PURGE = PurgeRequest()  # no body: everything in the environment


def accepted(response: Response, job: Job) -> Envelope[JobOut]:
    """A long operation's answer: 202, where to watch it, and when to look."""
    response.status_code = 202
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    response.headers["Retry-After"] = "1"
    return Envelope(data=JobOut.of(job))


def _cache(access: Access, request: Request, env: EnvironmentLike) -> CacheOut:
    lease = timedelta(seconds=request.app.state.settings.edge_lease_seconds)
    return service.cache_of(access.session, env, lease, utcnow())


@router.post(
    "/purge",
    status_code=202,
    responses=ACCEPTED,
    summary="Purge the cache (202 + a cache.purge job that proves every edge applied it)",
)
def purge(
    access: CachePurge,
    notifier: AppNotifier,
    response: Response,
    body: Annotated[PurgeRequest, Body()] = EMPTY_PURGE,
) -> Envelope[JobOut]:
    chosen = service.selector(body.type, body.tags, body.paths, body.cache_hashes, body.mode)
    job = service.request_purge(
        access.session, notifier, access.principal, environment_of(access), chosen, body.dry_run
    )
    return accepted(response, job)


@router.get("", summary="Get the cache's configuration and its state across live edges")
def get_cache(access: CacheRead, request: Request) -> Envelope[CacheOut]:
    return Envelope(data=_cache(access, request, environment_of(access)))


@router.patch("", summary="Change the cache's configuration (in force on every edge within 1 s)")
def update_cache(
    access: CacheWrite, notifier: AppNotifier, request: Request, body: CacheUpdate
) -> Envelope[CacheOut]:
    env = environment_row_of(access)
    service.update_config(access.session, notifier, access.principal, env, body)
    return Envelope(data=_cache(access, request, env))
