"""Rolling a key to a new secret with a grace window for the old one.

At most two secrets of a key are ever live: the current one and one previous in its grace
window. Rolling again ends the older previous secret at once. Two rolls racing are serialised
on the key's row (an UPDATE first, so SQLite takes its write lock and PostgreSQL its row lock
before anything is read), so they can never leave three live secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forge.clock import rfc3339, utcnow
from forge.errors import NotFound
from forge.keys import rights
from forge.keys.models import ApiKey, KeySecret
from forge.keys.service import add_secret, lock_key, record_event, require_changeable
from forge.principal import Principal


@dataclass(frozen=True)
class Rolled:
    key: ApiKey
    secret: str
    prefix: str
    previous_prefix: str
    previous_expires_at: datetime


def live_secrets(session: Session, key_id: str, now: datetime) -> list[KeySecret]:
    stmt = (
        select(KeySecret)
        .where(
            KeySecret.key_id == key_id,
            KeySecret.revoked_at.is_(None),
            or_(KeySecret.expires_at.is_(None), KeySecret.expires_at > now),
        )
        .order_by(KeySecret.id)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def roll(session: Session, caller: Principal, key_id: str, grace: timedelta) -> Rolled:
    now = utcnow()
    lock_key(session, key_id)
    key = rights.visible_key(session, caller, key_id, for_update=True)
    # A roll hands over a working secret of the key: the key must lie within the caller's rights.
    rights.check_within(session, caller, key.scopes, rights.key_pin(key))
    return _roll_locked(session, key, caller, grace, now)


def roll_as_operator(session: Session, key_id: str, grace: timedelta) -> Rolled:
    now = utcnow()
    lock_key(session, key_id)
    key = session.get(ApiKey, key_id, with_for_update=True, populate_existing=True)
    if key is None:
        raise NotFound(f"No API key {key_id!r}.", param="id")
    return _roll_locked(session, key, None, grace, now)


def _roll_locked(
    session: Session, key: ApiKey, caller: Principal | None, grace: timedelta, now: datetime
) -> Rolled:
    require_changeable(key, now)
    key.updated_at = now
    secrets = live_secrets(session, key.id, now)
    current = next(s for s in reversed(secrets) if s.expires_at is None)
    for older in secrets:
        if older is not current:
            older.revoked_at = now
    current.expires_at = now + grace
    if not grace:
        current.revoked_at = now
    secret, prefix = add_secret(session, key)
    record_event(
        session,
        key,
        "key.rolled",
        caller,
        prefix=f"{prefix}…",
        previous_prefix=f"{current.prefix}…",
        previous_expires_at=rfc3339(current.expires_at),
        ended_prefixes=[f"{s.prefix}…" for s in secrets if s is not current],
    )
    return Rolled(
        key=key,
        secret=secret,
        prefix=prefix,
        previous_prefix=current.prefix,
        previous_expires_at=current.expires_at,
    )
