"""Secrets of one environment: declare, set, change, delete, restore. No HTTP here.

Values go in as bytes and come out sealed; no function here returns, logs or records one.
Both HTTP surfaces (seed 000 under /v1, seed 002 under /{team}/{site}/envs) call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.clock import utcnow
from forge.crypto.keyring import Keyring
from forge.db import insert_if_absent
from forge.errors import Conflict, NotFound, ValidationFailed
from forge.ids import new_id
from forge.keys.principal import Principal
from forge.secrets import rules
from forge.secrets.models import Secret, SecretVersion
from forge.secrets.values import open_version, seal_version
from forge.sites.models import Environment


def actor_id(principal: Principal | None) -> str | None:
    if principal is None:
        return None
    return principal.client_id or principal.team_id


def _record(
    session: Session, principal: Principal, env: Environment, action: str, **data: object
) -> None:
    audit.record(
        session,
        team_id=env.site.team_id,
        action=action,
        actor=principal,
        resource_type="environment",
        resource_id=env.id,
        data=dict(data),
    )


def _row(session: Session, env: Environment, name: str) -> Secret | None:
    """The environment's own row for `name`, live or deleted."""
    return session.scalar(
        select(Secret).where(Secret.environment_id == env.id, Secret.name == name)
    )


def local(session: Session, env: Environment, name: str) -> Secret:
    """The environment's own live secret, or 404 (an inherited key is not local)."""
    rules.check_name(name)
    row = _row(session, env, name)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"No secret {name!r} set in environment {env.id}.", param="key")
    return row


def count_live(session: Session, env: Environment) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Secret)
            .where(Secret.environment_id == env.id, Secret.deleted_at.is_(None))
        )
        or 0
    )


def _exists(name: str) -> Conflict:
    return Conflict(f"Secret {name!r} already exists in this environment.", param="key")


def _revive(session: Session, row: Secret, who: str | None, join_race: bool) -> Secret:
    """Bring a deleted row back as a fresh entry; guarded on `deleted_at` so that of two racing
    revivals only one succeeds (the other joins it, or gets a 409)."""
    now = utcnow()
    revived: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Secret)
        .where(Secret.id == row.id, Secret.deleted_at.is_not(None))
        .values(
            deleted_at=None,
            tombstone=False,
            has_value=False,
            description=None,
            required=False,
            created_at=now,
            created_by=who,
            updated_at=now,
            updated_by=who,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    if not revived.rowcount and not join_race:
        raise _exists(row.name)
    return row


def _new_row(
    session: Session, principal: Principal, env: Environment, name: str, *, join_race: bool
) -> Secret:
    """A fresh local row (reviving a deleted one), within the per-environment limit. Racing
    creators settle on the unique (environment, name): the loser joins the winner's row when
    `join_race` (a set), or gets a 409 (a declaration)."""
    who = actor_id(principal)
    existing = _row(session, env, name)
    if existing is not None and existing.deleted_at is None:
        if join_race:
            return existing
        raise _exists(name)
    rules.check_room(count_live(session, env), 1)
    if existing is not None:
        return _revive(session, existing, who, join_race)
    now = utcnow()
    inserted = insert_if_absent(
        session,
        Secret,
        {
            "id": new_id("sec"),
            "environment_id": env.id,
            "name": name,
            "required": False,
            "tombstone": False,
            "has_value": False,
            "latest_version": 0,
            "created_at": now,
            "created_by": who,
            "updated_at": now,
            "updated_by": who,
        },
    )
    if not inserted and not join_race:
        raise _exists(name)
    row = _row(session, env, name)
    assert row is not None
    return row


def declare(
    session: Session,
    principal: Principal,
    env: Environment,
    name: str,
    description: str | None,
    required: bool = False,
) -> Secret:
    rules.check_name(name)
    row = _new_row(session, principal, env, name, join_race=False)
    row.description, row.required = description, required
    session.flush()
    _record(session, principal, env, "secret.declared", key=name)
    return row


def tombstone(session: Session, principal: Principal, env: Environment, name: str) -> Secret:
    """A local entry without a value that stops the inherited key from flowing in."""
    rules.check_name(name)
    row = _new_row(session, principal, env, name, join_race=False)
    row.tombstone = True
    session.flush()
    _record(session, principal, env, "secret.deleted", key=name, tombstone=True)
    return row


def _next_version(session: Session, row: Secret, principal: Principal) -> int:
    """Allocate the next version number atomically: concurrent sets of one key each get their
    own number, in commit order, and the newest one is in force (last write wins)."""
    now = utcnow()
    version = session.execute(
        update(Secret)
        .where(Secret.id == row.id)
        .values(
            latest_version=Secret.latest_version + 1,
            has_value=True,
            tombstone=False,
            updated_at=now,
            updated_by=actor_id(principal),
        )
        .returning(Secret.latest_version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.refresh(row)
    return int(version)


def _add_version(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: Environment,
    row: Secret,
    value: bytes,
    restored_from: int | None = None,
) -> SecretVersion:
    number = _next_version(session, row, principal)
    version = seal_version(keyring, env, row.id, row.name, number, value)
    version.created_by = actor_id(principal)
    version.restored_from = restored_from
    session.add(version)
    session.flush()
    return version


@dataclass(frozen=True)
class NewValue:
    name: str
    value: str
    description: str | None = None


def set_value(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: Environment,
    change: NewValue,
    *,
    must_exist: bool = False,
    audit_action: str | None = "secret.set",
) -> Secret:
    """Set or replace a value (a new version). `must_exist`: the seed-002 surface sets values
    only on declared secrets (404 otherwise)."""
    rules.check_name(change.name)
    value = rules.check_value(change.value)
    if must_exist:
        row = local(session, env, change.name)
    else:
        row = _new_row(session, principal, env, change.name, join_race=True)
    if change.description is not None:
        row.description = change.description
    version = _add_version(session, keyring, principal, env, row, value)
    if audit_action:
        _record(session, principal, env, audit_action, key=row.name, version=version.version)
    return row


def update_metadata(
    session: Session,
    principal: Principal,
    env: Environment,
    name: str,
    changes: dict[str, object],
) -> Secret:
    row = local(session, env, name)
    if row.tombstone:
        raise Conflict(f"Secret {name!r} is a tombstone here; delete it first.", param="key")
    if "description" in changes:
        row.description = changes["description"]  # type: ignore[assignment]
    if "required" in changes:
        row.required = bool(changes["required"])
    row.updated_at, row.updated_by = utcnow(), actor_id(principal)
    session.flush()
    return row


def delete(session: Session, principal: Principal, env: Environment, name: str) -> Secret:
    """Soft: versions stay for deployments that run them; declaring the name again revives it."""
    row = local(session, env, name)
    row.deleted_at = row.updated_at = utcnow()
    row.updated_by = actor_id(principal)
    row.has_value = False
    session.flush()
    _record(session, principal, env, "secret.deleted", key=name)
    return row


def versions(session: Session, secret_id: str) -> list[SecretVersion]:
    return list(
        session.scalars(
            select(SecretVersion)
            .where(SecretVersion.secret_id == secret_id)
            .order_by(SecretVersion.version.desc())
        )
    )


def restore(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: Environment,
    name: str,
    version: int,
) -> Secret:
    """Restore an old value as a new version, without the value ever leaving the server."""
    row = local(session, env, name)
    old = session.scalar(
        select(SecretVersion).where(
            SecretVersion.secret_id == row.id, SecretVersion.version == version
        )
    )
    if old is None:
        raise ValidationFailed(
            f"version: secret {name!r} has no version {version}.", param="version"
        )
    value = open_version(keyring, env, name, old)
    new = _add_version(session, keyring, principal, env, row, value, restored_from=version)
    _record(
        session,
        principal,
        env,
        "secret.restored",
        key=name,
        version=new.version,
        restored_from=version,
    )
    return row
