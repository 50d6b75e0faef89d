"""`GET /v1/jobs/{id}?wait=N`: hold the answer until the job finishes or N seconds pass.

Woken by the `job.finished` notification, which the worker publishes after committing (in
this process through the hub, across processes through PostgreSQL NOTIFY). The database is
re-read only when something finished, or at the slow fallback poll (a worker in another
process on SQLite has no way to notify). No transaction stays open while waiting.
"""

from __future__ import annotations

import time

from forge.http.auth import Access
from forge.jobs.models import Job
from forge.notify import JOB_FINISHED, Notifier

MAX_WAIT_SECONDS = 30
FALLBACK_POLL_SECONDS = 2.0
FINISHED = frozenset({"succeeded", "failed"})


async def until_finished(access: Access, notifier: Notifier, job: Job, wait: float) -> Job:
    if wait <= 0 or job.status in FINISHED:
        return job
    deadline = time.monotonic() + wait
    access.end_transaction()
    with notifier.listen(JOB_FINISHED) as finished:
        while True:
            # Registered first, then read: a finish committed in between is still heard.
            # Read-only: on SQLite it takes no write lock, so waiters never delay the worker.
            with access.database.read_only() as session:
                current = session.get(Job, job.id) or job
            remaining = deadline - time.monotonic()
            if current.status in FINISHED or remaining <= 0:
                return current
            await finished.wait(min(remaining, FALLBACK_POLL_SECONDS))
