"""Wake-ups between parts of Forge: "job finished", "purge appended", "configuration changed".

A notification carries nothing that matters: it only tells a waiter to look at the database
again, so a lost one costs at most the waiter's fallback poll. `publish` is called after the
transaction that made the change has committed, from any thread. A waiter registers first,
then checks the database, then awaits, so a change committed in between is never missed:

    with notifier.listen(JOB_FINISHED) as listener:
        if not finished(job_id):
            await listener.wait(timeout)

This is the in-process hub (embedded defaults: API, worker and edge share a process);
implementations between processes (PostgreSQL LISTEN/NOTIFY, Redis pub/sub) offer the same
methods.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

JOB_FINISHED = "job.finished"
PURGE_APPENDED = "cache.purge_appended"
PURGE_APPLIED = "cache.purge_applied"
CONFIG_CHANGED = "edge.config_changed"


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


class LocalHub:
    """Notifications within one process; safe to publish from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def publish(self, channel: str, message: str = "") -> None:
        with self._lock:
            listeners = list(self._listeners.get(channel, ()))
        for listener in listeners:
            listener._loop.call_soon_threadsafe(listener._deliver, message)

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
