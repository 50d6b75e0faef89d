"""A queued job (a purge): its current state, and `wait()` on the API's `?wait=` long poll."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forge_sdk import errors
from forge_sdk._endpoints import Call

if TYPE_CHECKING:
    from forge_sdk.models import Job

FINISHED = frozenset({"succeeded", "failed"})
MAX_WAIT = 30  # the API holds an answer at most this long


def _field(job: Any, name: str) -> Any:
    return job.get(name) if isinstance(job, Mapping) else getattr(job, name)


def _next_wait(job: Any, deadline: float, timeout: float) -> Call[Any] | None:
    """The next long poll, or None when the job is done (raising if it failed or time is up)."""
    status = _field(job, "status")
    if status == "failed":
        raise errors.JobFailedError(job, _field(job, "error"))
    if status in FINISHED:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise errors.JobTimeoutError(str(_field(job, "id")), str(status), timeout)
    seconds = min(MAX_WAIT, max(1, math.ceil(remaining)))
    return Call(path={"job": _field(job, "id")}, params={"wait": seconds}, timeout=seconds + 15)


def _get_route() -> Any:
    from forge_sdk.resources.jobs import Jobs

    return Jobs.get.route


class _Handle:
    def __init__(self, runner: Any, job: Job) -> None:
        self._runner = runner
        self.job: Job = job  # the latest state seen (a Job, or a dict with raw_data=True)

    @property
    def id(self) -> str:
        return str(_field(self.job, "id"))

    @property
    def status(self) -> str:
        return str(_field(self.job, "status"))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.status}>"


class JobHandle(_Handle):
    def refresh(self) -> Job:
        self.job = self._runner.one(_get_route(), Call(path={"job": self.id}))
        return self.job

    def wait(self, timeout: float = 60.0) -> Job:
        """Block until the job has succeeded (its final state is returned) or raise
        `JobFailedError` / `JobTimeoutError`. Each round trip is one `?wait=` long poll."""
        deadline = time.monotonic() + timeout
        while (call := _next_wait(self.job, deadline, timeout)) is not None:
            self.job = self._runner.one(_get_route(), call)
        return self.job


class AsyncJobHandle(_Handle):
    async def refresh(self) -> Job:
        self.job = await self._runner.one(_get_route(), Call(path={"job": self.id}))
        return self.job

    async def wait(self, timeout: float = 60.0) -> Job:
        """As `JobHandle.wait`, without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while (call := _next_wait(self.job, deadline, timeout)) is not None:
            self.job = await self._runner.one(_get_route(), call)
        return self.job
