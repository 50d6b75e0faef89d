"""Secrets of one environment: declare, set, change, delete, restore. No HTTP here.

Values go in as text and are stored sealed; no function here returns, logs or records one.
Both HTTP surfaces (/v1, and the team/site/env paths /{team}/{site}/envs) call these.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.clock import utcnow
from forge.crypto.keyring import Keyring
from forge.errors import Conflict, NotFound, ValidationFailed
from forge.principal import Principal
from forge.secrets import rules
from forge.secrets.inheritance import SecretRow
from forge.secrets.models import Secret, SecretVersion
from forge.secrets.values import open_version
from forge.secrets.writes import NewValue, actor_id, count_live, make_entries, write_values
from forge.sites.service import EnvironmentLike

__all__ = ["NewValue", "actor_id", "count_live"]


def record(
    session: Session, principal: Principal, env: EnvironmentLike, action: str, **data: object
) -> None:
    """An audit event about `env`'s secrets: key names and versions, never a value."""
    audit.record(
        session,
        team_id=env.site.team_id,
        action=action,
        actor=principal,
        resource_type="environment",
        resource_id=env.id,
        data=dict(data),
    )


def local(session: Session, env: EnvironmentLike, name: str) -> Secret:
    """The environment's own live secret, or 404 (an inherited key is not local)."""
    rules.check_name(name)
    row = session.scalar(select(Secret).where(Secret.environment_id == env.id, Secret.name == name))
    if row is None or row.deleted_at is not None:
        raise NotFound(f"No secret {name!r} set in environment {env.id}.", param="key")
    return row


def _new_entry(session: Session, principal: Principal, env: EnvironmentLike, name: str) -> Secret:
    rules.check_name(name)
    existing = session.scalar(
        select(Secret.id).where(
            Secret.environment_id == env.id, Secret.name == name, Secret.deleted_at.is_(None)
        )
    )
    if existing is not None:
        raise Conflict(f"Secret {name!r} already exists in this environment.", param="key")
    make_entries(session, principal, env, [name])
    # populate_existing: the row was made or revived by Core statements, under the ORM's eyes.
    return session.scalars(
        select(Secret)
        .where(Secret.environment_id == env.id, Secret.name == name)
        .execution_options(populate_existing=True)
    ).one()


def declare(
    session: Session,
    principal: Principal,
    env: EnvironmentLike,
    name: str,
    description: str | None,
    required: bool = False,
) -> Secret:
    row = _new_entry(session, principal, env, name)
    row.description, row.required = description, required
    session.flush()
    record(session, principal, env, "secret.declared", key=name)
    return row


def tombstone(session: Session, principal: Principal, env: EnvironmentLike, name: str) -> Secret:
    """A local entry without a value that stops the inherited key from flowing in."""
    row = _new_entry(session, principal, env, name)
    row.tombstone = True
    session.flush()
    record(session, principal, env, "secret.deleted", key=name, tombstone=True)
    return row


def set_value(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: EnvironmentLike,
    change: NewValue,
    *,
    must_exist: bool = False,
) -> SecretRow:
    """Set or replace a value (a new version). `must_exist`: the team/site/env path surface
    sets values only on declared secrets (404 otherwise)."""
    [(row, version)] = write_values(
        session, keyring, principal, env, [change], create=not must_exist
    )
    record(session, principal, env, "secret.set", key=row.name, version=version)
    return row


def update_metadata(
    session: Session,
    principal: Principal,
    env: EnvironmentLike,
    name: str,
    changes: dict[str, object],
) -> Secret:
    row = local(session, env, name)
    if row.tombstone:
        raise Conflict(f"Secret {name!r} is a tombstone here; delete it first.", param="key")
    if "description" in changes:
        description = changes["description"]
        row.description = description if isinstance(description, str) else None
    if "required" in changes:
        row.required = bool(changes["required"])
    row.updated_at, row.updated_by = utcnow(), actor_id(principal)
    session.flush()
    return row


def delete(session: Session, principal: Principal, env: EnvironmentLike, name: str) -> Secret:
    """Soft: versions stay for deployments that run them; declaring the name again revives it."""
    row = local(session, env, name)
    row.deleted_at = row.updated_at = utcnow()
    row.updated_by = actor_id(principal)
    row.has_value = False
    session.flush()
    record(session, principal, env, "secret.deleted", key=name)
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
    env: EnvironmentLike,
    name: str,
    version: int,
) -> SecretRow:
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
    [(written, new)] = write_values(
        session, keyring, principal, env, [NewValue(name, value)], restored_from=version
    )
    record(session, principal, env, "secret.restored", key=name, version=new, restored_from=version)
    return written
