"""Wake-ups between parts of Forge: "job finished", "purge appended", "configuration changed".

A notification carries nothing that matters: it only tells a waiter to look at the database
again, so a lost one costs at most the waiter's fallback poll. `publish` is called after the
transaction that made the change has committed, from any thread. A waiter registers first,
then checks the database, then awaits, so a change committed in between is never missed:

    with notifier.listen(JOB_FINISHED) as listener:
        if not finished(job_id):
            await listener.wait(timeout)

`LocalHub` is the in-process hub (embedded defaults: API, worker and edge share a process);
`PostgresNotifier` (forge.notify_pg) carries the same messages between processes on
PostgreSQL with LISTEN/NOTIFY and offers the same methods. `build_notifier` picks one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

JOB_FINISHED = "job.finished"
PURGE_APPENDED = "cache.purge_appended"
PURGE_APPLIED = "cache.purge_applied"
CONFIG_CHANGED = "edge.config_changed"
# A job was enqueued: idle workers look for work now instead of at their next poll.
JOB_QUEUED = "job.queued"
CHANNELS = (JOB_FINISHED, PURGE_APPENDED, PURGE_APPLIED, CONFIG_CHANGED, JOB_QUEUED)


class Listener:
    """Messages published on one channel since the listener was registered."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self.messages: list[str] = []

    def _deliver(self, message: str) -> None:
        self.messages.append(message)
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when something was published (since registering or the last wait)."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True


class Notifier(Protocol):
    def publish(self, channel: str, message: str = "") -> None: ...

    def listen(self, channel: str) -> AbstractContextManager[Listener]: ...

    def close(self) -> None: ...


_PENDING = "forge.notifications"


def publish_after_commit(
    session: Session, notifier: Notifier, channel: str, message: str = ""
) -> None:
    """Publish once the session's current transaction commits (never if it rolls back), so a
    waiter woken by it always finds the change in the database."""
    if not event.contains(session, "after_commit", _publish_pending):
        event.listen(session, "after_commit", _publish_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    session.info.setdefault(_PENDING, []).append((notifier, channel, message))


def _publish_pending(session: Session) -> None:
    for notifier, channel, message in session.info.pop(_PENDING, []):
        notifier.publish(channel, message)


def _drop_pending(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint inside it
        session.info.pop(_PENDING, None)


def build_notifier(database_url: str) -> Notifier:
    """PostgreSQL: LISTEN/NOTIFY between processes; SQLite (embedded): the in-process hub."""
    if database_url.startswith("postgresql"):
        from forge.notify_pg import PostgresNotifier

        return PostgresNotifier(database_url)
    return LocalHub()


class LocalHub:
    """Notifications within one process; safe to publish from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def publish(self, channel: str, message: str = "") -> None:
        with self._lock:
            listeners = list(self._listeners.get(channel, ()))
        for listener in listeners:
            # A listener whose loop has just closed has nobody left to wake.
            with contextlib.suppress(RuntimeError):
                listener._loop.call_soon_threadsafe(listener._deliver, message)

    def close(self) -> None:
        """Nothing to release in-process."""

    @contextmanager
    def listen(self, channel: str) -> Iterator[Listener]:
        listener = Listener(asyncio.get_running_loop())
        with self._lock:
            self._listeners[channel].add(listener)
        try:
            yield listener
        finally:
            with self._lock:
                self._listeners[channel].discard(listener)
