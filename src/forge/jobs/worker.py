"""The job worker: claims jobs, runs their handlers under a renewed lease, finishes them.

Runs as its own process (`forge worker`) or as a task inside `forge serve` (embedded
defaults). Idle, it waits for a `job.queued` notification (or its slow poll); busy, it runs up
to `worker_concurrency` jobs at once (a purge job mostly waits on edges). Database work runs in
a thread, one unit of work per hop, so the event loop never waits on a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.config import Settings
from forge.db import Database
from forge.jobs import service
from forge.jobs.models import Job
from forge.jobs.registry import JobFailed, JobRun, JobType, Outcome
from forge.notify import JOB_FINISHED, JOB_QUEUED, Listener, Notifier

log = logging.getLogger("forge.jobs")

IDLE_POLL_SECONDS = 1.0  # the fallback when no notification arrives (another process, SQLite)
SWEEP_EVERY_SECONDS = 3600.0
MAX_RETRY_DELAY_SECONDS = 60.0

T = TypeVar("T")


def new_worker_id() -> str:
    return f"wrk_{os.getpid()}_{secrets.token_hex(4)}"


async def wait_either(listener: Listener, stop: asyncio.Event, timeout: float) -> None:
    """Until the listener hears something, `stop` is set, or the timeout passes."""
    heard = asyncio.ensure_future(listener.wait(timeout))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({heard, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (heard, stopped):
            task.cancel()


class Worker:
    def __init__(
        self,
        database: Database,
        notifier: Notifier,
        settings: Settings,
        types: dict[str, JobType],
        worker_id: str | None = None,
    ) -> None:
        self.database = database
        self.notifier = notifier
        self.settings = settings
        self.types = types
        self.id = worker_id or new_worker_id()
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        self._running: dict[str, asyncio.Task[None]] = {}

    async def _db(self, work: Callable[..., T], *args: Any) -> T:
        def unit() -> T:
            with self.database.session() as session:
                return work(session, *args)

        return await asyncio.to_thread(unit)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker started", extra={"worker": self.id})
        slots = asyncio.Semaphore(self.settings.worker_concurrency)
        next_sweep = time.monotonic()
        try:
            while not stop.is_set():
                await slots.acquire()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
                    await self._sweep()
                with self.notifier.listen(JOB_QUEUED) as queued:
                    job = await self._claim_or_none()
                    if job is None:
                        slots.release()
                        await wait_either(queued, stop, IDLE_POLL_SECONDS)
                        continue
                task = asyncio.create_task(self._run_job(job))
                self._running[job.id] = task
                task.add_done_callback(functools.partial(self._done, job.id, slots))
        finally:
            await self._hand_back()
            log.info("worker stopped", extra={"worker": self.id})

    async def _claim_or_none(self) -> Job | None:
        """A claim, or None when there is nothing to do or the database cannot be reached
        (the worker outlives an outage: it tries again at its next poll)."""
        try:
            return await self._claim()
        except OperationalError as err:
            log.warning(
                "worker cannot reach the database", extra={"worker": self.id, "error": str(err)}
            )
            return None

    def _done(self, job_id: str, slots: asyncio.Semaphore, _task: object) -> None:
        self._running.pop(job_id, None)
        slots.release()

    async def _claim(self) -> Job | None:
        def claim(session: Any) -> tuple[Job | None, list[str]]:
            now = utcnow()
            abandoned = service.fail_abandoned(session, now)
            return service.claim(session, self.id, list(self.types), self.lease, now), abandoned

        job, abandoned = await self._db(claim)
        for job_id in abandoned:
            log.warning("job abandoned", extra={"job": job_id, "worker": self.id})
            self.notifier.publish(JOB_FINISHED, job_id)
        if job is not None:
            log.info(
                "job claimed", extra={"job": job.id, "worker": self.id, "attempt": job.attempts}
            )
        return job

    async def _run_job(self, job: Job) -> None:
        try:
            await self._attempt(job)
        except OperationalError:
            # The database went away mid-job: the lease runs out and a worker takes it over.
            log.warning("job left to its lease: database unreachable", extra={"job": job.id})
        except Exception:
            # Finishing failed (a handler's effects raised): nothing was committed; the lease
            # runs out and the job is attempted again.
            log.exception("job left to its lease: finishing failed", extra={"job": job.id})

    async def _attempt(self, job: Job) -> None:
        job_type = self.types[job.type]
        run = JobRun(
            job_id=job.id,
            type=job.type,
            team_id=job.team_id,
            mode=job.mode,
            resource_id=job.resource_id,
            payload=job.payload,
            attempt=job.attempts,
            worker_id=self.id,
            database=self.database,
            notifier=self.notifier,
            settings=self.settings,
        )
        handler: asyncio.Task[Outcome] = asyncio.ensure_future(job_type.run(run))
        keeper = asyncio.create_task(self._keep_lease(job.id, handler))
        try:
            outcome = await handler
        except JobFailed as failed:
            error = failed.error
            await self._finish(job, lambda s, now: service.fail(s, job.id, self.id, error, now))
        except asyncio.CancelledError:
            if keeper.done() and not keeper.cancelled():
                log.warning("job lease lost; stopped", extra={"job": job.id, "worker": self.id})
                return
            raise
        except Exception:
            log.exception("job handler raised", extra={"job": job.id, "worker": self.id})
            await self._retry_or_fail(job)
        else:
            await self._succeed(job, outcome)
        finally:
            keeper.cancel()

    async def _keep_lease(self, job_id: str, handler: asyncio.Task[Outcome]) -> None:
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                held = await self._db(self._renew, job_id)
            except OperationalError:
                continue  # try again; if the lease runs out meanwhile, the finish is refused
            if not held:
                handler.cancel()
                return

    def _renew(self, session: Session, job_id: str) -> bool:
        return service.renew_lease(session, job_id, self.id, self.lease, utcnow())

    async def _succeed(self, job: Job, outcome: Outcome) -> None:
        def finish(session: Any, now: Any) -> bool:
            if not service.succeed(session, job.id, self.id, outcome.result, now):
                return False
            if outcome.effects is not None:
                outcome.effects(session)
            return True

        if await self._finish(job, finish):
            for channel, message in outcome.notifications:
                self.notifier.publish(channel, message)

    async def _retry_or_fail(self, job: Job) -> None:
        error = {"code": "internal", "message": "The job's handler failed; see the worker's log."}
        if job.attempts >= job.max_attempts:
            await self._finish(job, lambda s, now: service.fail(s, job.id, self.id, error, now))
            return
        delay = min(2.0**job.attempts, MAX_RETRY_DELAY_SECONDS)

        def retry(session: Any, now: Any) -> bool:
            retry_at = now + timedelta(seconds=delay)
            return service.fail(session, job.id, self.id, error, now, retry_at=retry_at)

        await self._db(retry, utcnow())

    async def _finish(self, job: Job, finish: Callable[[Any, Any], bool]) -> bool:
        """Commit the job's end (only while holding it), then tell the waiters."""

        def unit(session: Any) -> bool:
            done = finish(session, utcnow())
            if not done:
                session.rollback()
            return done

        if not await self._db(unit):
            log.warning(
                "job lease lost; outcome discarded", extra={"job": job.id, "worker": self.id}
            )
            return False
        log.info("job finished", extra={"job": job.id, "worker": self.id})
        self.notifier.publish(JOB_FINISHED, job.id)
        return True

    async def _hand_back(self) -> None:
        """On shutdown: stop the running handlers and give their jobs back at once."""
        running = dict(self._running)
        for task in running.values():
            task.cancel()
        for job_id, task in running.items():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(Exception):
                await self._db(lambda s, j=job_id: service.release(s, j, self.id, utcnow()))
            self.notifier.publish(JOB_QUEUED, job_id)

    async def _sweep(self) -> None:
        keeps = [t.retained() for t in self.types.values() if t.retained is not None]

        def sweep(session: Any) -> int:
            return service.sweep(session, utcnow(), keeps)

        try:
            removed = await self._db(sweep)
        except OperationalError:
            log.warning("job retention sweep skipped: database unreachable")
            return
        if removed:
            log.info("finished jobs removed", extra={"count": removed})


@contextlib.asynccontextmanager
async def in_background(worker: Worker) -> AsyncIterator[None]:
    """Run the worker as a task for the duration of the block (inside `forge serve`)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def run_until_signalled(worker: Worker) -> None:
    """`forge worker`: run until SIGTERM or SIGINT, then hand the running jobs back."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await worker.run(stop)
