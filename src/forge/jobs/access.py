"""Resolvers and dependencies of the job routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from forge.http.auth import Access
from forge.jobs import service
from forge.jobs.models import Job
from forge.notify import Notifier


def job_resolver(access: Access, params: dict[str, str]) -> None:
    access.resources["job"] = service.get_job(access.session, access.principal, params["job"])


def job_of(access: Access) -> Job:
    job: Job = access.resources["job"]
    return job


async def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


AppNotifier = Annotated[Notifier, Depends(_notifier)]
