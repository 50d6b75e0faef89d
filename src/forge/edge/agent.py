"""The edge's control loops: registration, heartbeats, configuration and the purge log.

Every database unit of work runs in a thread (`asyncio.to_thread`), never on the loop that
answers clients. Notifications (forge.notify) wake the loops at once; without a notifier, or
when one is lost, they poll: the purge log every `POLL_SECONDS`, the configuration probe every
`CONFIG_POLL_SECONDS`, so a change reaches an edge in another process within a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager, nullcontext
from time import monotonic
from typing import Any

from forge.clock import utcnow
from forge.db import Database
from forge.edge import repository
from forge.edge.config import EdgeConfig
from forge.edge.runtime import Edge
from forge.notify import CONFIG_CHANGED, PURGE_APPENDED, PURGE_APPLIED, Listener, Notifier

log = logging.getLogger("forge.edge")

POLL_SECONDS = 0.25
CONFIG_POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 1.0
LOG_BATCH = 500

ConfigLoader = Callable[[Database], EdgeConfig]


class Agent:
    def __init__(
        self,
        edge: Edge,
        database: Database,
        *,
        name: str,
        address: str,
        notifier: Notifier | None = None,
        load_config: ConfigLoader = repository.load_config,
    ) -> None:
        self.edge = edge
        self.database = database
        self.name = name
        self.address = address
        self.notifier = notifier
        self.load_config = load_config
        self.edge_id = ""
        self.applied_seq = 0
        self._probe: tuple[Any, ...] | None = None
        self._unrecorded: list[repository.AppliedPurge] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Register, load the configuration, and start the loops; the edge serves after this."""
        contact = monotonic()
        self.edge_id, self.applied_seq = await asyncio.to_thread(
            repository.register, self.database, self.name, self.address
        )
        self.edge.contact(heartbeat=contact, log_read=contact)
        await self.reload_config()
        log.info("edge registered", extra={"edge": self.edge_id, "address": self.address})
        for loop in (self._purge_loop, self._config_loop, self._heartbeat_loop):
            self._tasks.append(asyncio.get_running_loop().create_task(self._guarded(loop)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.edge_id:
            await asyncio.to_thread(repository.mark_stopped, self.database, self.edge_id)

    def _listen(self, channel: str) -> AbstractContextManager[Listener | None]:
        if self.notifier is None:
            return nullcontext()
        return self.notifier.listen(channel)

    async def _guarded(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Keep a loop running through database failures (logged, retried after a pause)."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("edge control loop failed; retrying", extra={"loop": loop.__name__})
                await asyncio.sleep(POLL_SECONDS)

    # The purge log ------------------------------------------------------------------------

    async def _purge_loop(self) -> None:
        with self._listen(PURGE_APPENDED) as listener:
            while True:
                await self.apply_purges()
                await _wait(listener, POLL_SECONDS)

    async def apply_purges(self) -> None:
        """Apply every purge logged after `applied_seq`, in order, then record the proof.
        Only once the log has been read to its end does the edge count as in contact."""
        if self._unrecorded:
            await self._record()
        while True:
            asked_at = monotonic()
            was_out_of_contact = self.edge.bypassing(asked_at)
            batch = await asyncio.to_thread(
                repository.read_log, self.database, self.applied_seq, LOG_BATCH
            )
            # A gap in sequence numbers is normal (PostgreSQL sequences skip on rollback; a
            # new edge starts at the newest purge); only an edge that was away can have
            # missed purges that retention has since deleted.
            if was_out_of_contact and batch and batch[0].seq > self.applied_seq + 1:
                await self._drop_cache_if_trimmed()
            for purge in batch:
                outcome = await self.edge.apply_purge(
                    purge.environment_id, purge.selector, purge.dry_run
                )
                self._unrecorded.append(repository.AppliedPurge(purge.seq, outcome, utcnow()))
                self.applied_seq = purge.seq
            if self._unrecorded:
                await self._record()
            if len(batch) < LOG_BATCH:
                self.edge.contact(log_read=asked_at)
                return

    async def _drop_cache_if_trimmed(self) -> None:
        """Purges older than 30 days are deleted with their jobs: an edge that slept through
        some of them cannot know what they named, so it forgets everything."""
        oldest = await asyncio.to_thread(repository.oldest_seq, self.database)
        if oldest > self.applied_seq + 1:
            dropped = await self.edge.drop_cache()
            log.warning(
                "purges this edge missed were trimmed from the log; cache dropped",
                extra={"edge": self.edge_id, "entries": dropped, "applied_seq": self.applied_seq},
            )

    async def _record(self) -> None:
        applied = list(self._unrecorded)
        await asyncio.to_thread(repository.record_applied, self.database, self.edge_id, applied)
        del self._unrecorded[: len(applied)]
        if self.notifier is not None:
            self.notifier.publish(PURGE_APPLIED, str(applied[-1].seq))

    # Configuration ------------------------------------------------------------------------

    async def _config_loop(self) -> None:
        with self._listen(CONFIG_CHANGED) as listener:
            while True:
                notified = await _wait(listener, CONFIG_POLL_SECONDS)
                if notified:
                    await self.reload_config()
                    continue
                probe = await asyncio.to_thread(repository.config_probe, self.database)
                if probe != self._probe:
                    await self.reload_config()

    async def reload_config(self) -> None:
        probe = await asyncio.to_thread(repository.config_probe, self.database)
        self.edge.config = await asyncio.to_thread(self.load_config, self.database)
        self._probe = probe

    # Heartbeat ----------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        beat = monotonic()
        while True:
            # On a fixed cadence: a slow write does not push the next heartbeat later.
            beat += HEARTBEAT_SECONDS
            await asyncio.sleep(max(0.0, beat - monotonic()))
            beat = max(beat, monotonic() - HEARTBEAT_SECONDS)
            started = monotonic()
            stats = self.edge.stats()
            await asyncio.to_thread(repository.heartbeat, self.database, self.edge_id, stats)
            self.edge.contact(heartbeat=started)


async def _wait(listener: Listener | None, timeout: float) -> bool:
    if listener is None:
        await asyncio.sleep(timeout)
        return False
    return await listener.wait(timeout)
