"""Resolvers and dependencies of the job routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from forge.http.auth import Access, resolves
from forge.jobs import service
from forge.jobs.models import Job
from forge.notify import Notifier


@resolves("job", session=True)
def job_resolver(access: Access, params: Mapping[str, str]) -> None:
    access.job = service.get_job(access.session, access.principal, params["job"])


def job_of(access: Access) -> Job:
    return access.job


async def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


AppNotifier = Annotated[Notifier, Depends(_notifier)]
