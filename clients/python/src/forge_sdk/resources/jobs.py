"""Background jobs (purges): read one, long-poll it, list them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge_sdk._endpoints import Call, M, Resource, one, paged
from forge_sdk.resources._common import present

if TYPE_CHECKING:
    from forge_sdk.models import Job

from forge_sdk._jobs import MAX_WAIT


class Jobs(Resource[M]):
    @one("GET", "/v1/jobs/{job}", "Job")
    def get(self, job: str, *, wait: int | None = None) -> Call[Job]:
        """The job now, or (`wait`, at most 30 s) as soon as it finishes within that time."""
        timeout = None if wait is None else min(wait, MAX_WAIT) + 15.0
        return Call(path={"job": job}, params={"wait": wait}, timeout=timeout)

    @paged("/v1/jobs", "Job")
    def list(
        self,
        *,
        type: str | None = None,
        status: str | None = None,
        resource: str | None = None,
        limit: int | None = None,
    ) -> Call[Job]:
        return Call(params=present(type=type, status=status, resource=resource, limit=limit))
