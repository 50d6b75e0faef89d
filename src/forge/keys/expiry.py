"""`key.expired` audit events: recorded once per key, by whichever process claims it first.

Expiry itself needs no event to take effect (every request compares `expires_at` with the
clock). Every API process sweeps (`sweeping`, a task of the app's lifespan) every
FORGE_KEY_USAGE_FLUSH_SECONDS, so the event follows the expiry within one interval while any
API process runs, or one interval after the next start otherwise; its `data.expired_at` is the
moment the key stopped working. Keys revoked before they expired get no `key.expired` event
(their `key.revoked` says it all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import select, update

from forge import periodic
from forge.audit import service as audit
from forge.clock import rfc3339, utcnow
from forge.db import Database
from forge.keys.models import ApiKey

log = logging.getLogger("forge.keys.expiry")

BATCH = 100


def record_expired(database: Database) -> int:
    """Claim each newly expired key with a conditional update, then record its event."""
    now = utcnow()
    recorded = 0
    with database.session() as session:
        # Served by the index (expiry_recorded_at, expires_at): only keys not yet handled are
        # read, however many expired long ago. Revoked keys are marked too, without an event,
        # so they never come back.
        expired = session.scalars(
            select(ApiKey)
            .where(ApiKey.expiry_recorded_at.is_(None), ApiKey.expires_at <= now)
            .limit(BATCH)
        ).all()
        for key in expired:
            claimed = session.execute(
                update(ApiKey)
                .where(ApiKey.id == key.id, ApiKey.expiry_recorded_at.is_(None))
                .values(expiry_recorded_at=now)
            )
            if claimed.rowcount != 1 or key.revoked_at is not None:  # type: ignore[attr-defined]
                continue
            audit.record(
                session,
                team_id=key.team_id,
                action="key.expired",
                actor=None,
                system=audit.SYSTEM_FORGE,
                resource_type="api_key",
                resource_id=key.id,
                mode=key.mode,
                data={"expired_at": rfc3339(key.expires_at), "name": key.name},
            )
            recorded += 1
    return recorded


@contextlib.asynccontextmanager
async def sweeping(database: Database, every: float) -> AsyncIterator[None]:
    """Record newly expired keys every `every` seconds while the app runs (in a thread: the
    event loop keeps serving)."""
    async with periodic.every(
        every,
        lambda: asyncio.to_thread(record_expired, database),
        log,
        "key expiry sweep failed; it is retried on the next tick",
    ):
        yield
