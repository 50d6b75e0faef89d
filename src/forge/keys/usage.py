"""Key usage without a database write per request.

On the hot path `UsageRecorder.record` only touches two dicts in memory (measured in
`bench/key_usage.py`). A background task flushes them every few seconds, and once more when
the process shuts down cleanly, in one transaction:
- per secret, `last_used_at` / `last_used_ip` (only ever moved forward, so processes flushing
  in any order agree);
- per secret (so per key prefix) per minute, one `key.used` audit event counting the requests,
  with the minute, the last use and the addresses seen. Its id is derived from the secret and
  the minute, so every process adds to the same event.
A flush that fails puts its batch back, to be tried again on the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from ulid import ULID

from forge import periodic
from forge.audit.models import AuditEvent
from forge.clock import rfc3339
from forge.db import Database
from forge.keys.models import KeySecret
from forge.principal import Principal

log = logging.getLogger("forge.keys.usage")

MAX_IPS_PER_MINUTE = 10


@dataclass
class Minute:
    """The uses of one secret in one minute, as one process saw them."""

    principal: Principal
    count: int = 0
    last_used: float = 0.0
    ips: set[str] = field(default_factory=set)

    def merge(self, other: Minute) -> None:
        self.count += other.count
        self.last_used = max(self.last_used, other.last_used)
        self.ips |= other.ips


@dataclass
class Batch:
    last_used: dict[str, tuple[float, str]] = field(default_factory=dict)
    minutes: dict[tuple[str, int], Minute] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.last_used or self.minutes)


class UsageRecorder:
    """One per process. `record` and `drain` run on the event loop, so they need no lock."""

    def __init__(self) -> None:
        self._batch = Batch()

    def record(self, principal: Principal, ip: str) -> None:
        now = time.time()
        batch = self._batch
        batch.last_used[principal.secret_id] = (now, ip)
        slot = (principal.secret_id, int(now // 60))
        minute = batch.minutes.get(slot)
        if minute is None:
            minute = batch.minutes[slot] = Minute(principal)
        minute.count += 1
        minute.last_used = now
        if len(minute.ips) < MAX_IPS_PER_MINUTE:
            minute.ips.add(ip)

    def drain(self) -> Batch:
        batch, self._batch = self._batch, Batch()
        return batch

    def put_back(self, batch: Batch) -> None:
        """A batch that could not be written joins what was recorded since."""
        current = self._batch
        for secret_id, (moment, ip) in batch.last_used.items():
            newer = current.last_used.get(secret_id)
            if newer is None or newer[0] < moment:
                current.last_used[secret_id] = (moment, ip)
        for slot, minute in batch.minutes.items():
            if slot in current.minutes:
                current.minutes[slot].merge(minute)
            else:
                current.minutes[slot] = minute


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def usage_event_id(secret_id: str, minute: int) -> str:
    """`evt_` + a ULID whose time is the minute and whose rest is fixed by the secret."""
    rest = hashlib.sha256(f"{secret_id}:{minute}".encode()).digest()[:10]
    return f"evt_{ULID.from_bytes((minute * 60_000).to_bytes(6, 'big') + rest)}"


def _write_last_used(session: Session, last_used: dict[str, tuple[float, str]]) -> None:
    for secret_id, (moment, ip) in sorted(last_used.items()):
        when = _moment(moment)
        session.execute(
            update(KeySecret)
            .where(
                KeySecret.id == secret_id,
                or_(KeySecret.last_used_at.is_(None), KeySecret.last_used_at < when),
            )
            # The column holds 45 characters (any IPv6 text); a scoped address may be longer.
            .values(last_used_at=when, last_used_ip=ip[:45])
        )


def _add_to_event(event: AuditEvent, minute: Minute) -> None:
    data = dict(event.data)
    ips = list(dict.fromkeys([*data.get("ips", []), *sorted(minute.ips)]))
    last = max(event.created_at, _moment(minute.last_used))
    data.update(count=data.get("count", 0) + minute.count, ips=ips[:MAX_IPS_PER_MINUTE])
    data["last_used_at"] = rfc3339(last)
    event.data = data
    event.created_at = last


def _new_event(event_id: str, slot: int, minute: Minute) -> AuditEvent:
    p = minute.principal
    last = _moment(minute.last_used)
    return AuditEvent(
        id=event_id,
        team_id=p.team_id,
        action="key.used",
        mode=p.mode,
        actor_type="client" if p.client_id else "team",
        actor_id=p.client_id or p.team_id,
        key_id=p.key_id,
        key_prefix=p.key_prefix,
        resource_type="api_key",
        resource_id=p.key_id,
        data={
            "minute": rfc3339(_moment(slot * 60)),
            "count": minute.count,
            "ips": sorted(minute.ips),
            "last_used_at": rfc3339(last),
        },
        # The last use in the minute, so `since=T` finds any use at or after T.
        created_at=last,
    )


def _write_minutes(session: Session, minutes: dict[tuple[str, int], Minute]) -> None:
    for (secret_id, slot), minute in sorted(minutes.items()):
        event_id = usage_event_id(secret_id, slot)
        for _attempt in (1, 2):
            existing = session.get(
                AuditEvent, event_id, with_for_update=True, populate_existing=True
            )
            if existing is not None:
                _add_to_event(existing, minute)
                session.flush()
                break
            try:
                with session.begin_nested():
                    session.add(_new_event(event_id, slot, minute))
                break
            except IntegrityError:
                continue  # another process added it first: add to theirs


def write(database: Database, batch: Batch) -> None:
    """One transaction. Secrets first: on SQLite that write takes the lock before any read."""
    with database.session() as session:
        _write_last_used(session, batch.last_used)
        _write_minutes(session, batch.minutes)


def flush(database: Database, recorder: UsageRecorder) -> None:
    batch = recorder.drain()
    if not batch:
        return
    try:
        write(database, batch)
    except Exception:
        recorder.put_back(batch)
        raise


async def flush_now(database: Database, recorder: UsageRecorder) -> None:
    """Drain on the event loop, write in a thread (the loop keeps serving)."""
    batch = recorder.drain()
    if not batch:
        return
    try:
        await asyncio.to_thread(write, database, batch)
    except Exception:
        recorder.put_back(batch)
        raise


@contextlib.asynccontextmanager
async def flushing(
    database: Database, recorder: UsageRecorder, every: float
) -> AsyncIterator[None]:
    """Flush every `every` seconds while the app runs, and once more at a clean shutdown."""
    try:
        async with periodic.every(
            every,
            lambda: flush_now(database, recorder),
            log,
            "key usage flush failed; it is retried on the next tick",
        ):
            yield
    finally:
        # Clean shutdown: what was recorded since the last tick is written now.
        try:
            flush(database, recorder)
        except Exception:
            log.exception("key usage could not be written at shutdown")
