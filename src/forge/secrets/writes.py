"""Writing values, for one key or a thousand: a handful of statements whatever the count.

Rows are found or made for all names at once (reviving deleted ones, within the per-environment
limit), version numbers are allocated by one atomic `UPDATE … RETURNING` (concurrent sets of a
key each get their own number; the last to commit is in force), then every value is checked,
sealed and inserted. A failure at any point raises, and the request's unit of work is rolled
back whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.crypto.keyring import Keyring
from forge.db import insert_if_absent
from forge.errors import NotFound, ValidationFailed
from forge.ids import new_id
from forge.keys.scopes import SET_VALUE
from forge.principal import Principal
from forge.secrets import rules
from forge.secrets.models import Secret
from forge.secrets.values import seal_version
from forge.sites.models import Environment


def actor_id(principal: Principal | None) -> str | None:
    if principal is None:
        return None
    return principal.client_id or principal.team_id


class ValueRejected(ValidationFailed):
    """A value broke a rule; `name` says whose (an import maps it back to its line)."""

    def __init__(self, err: ValidationFailed, name: str) -> None:
        super().__init__(err.message, param=err.param)
        self.name = name


@dataclass(frozen=True)
class NewValue:
    name: str
    value: str | bytes  # bytes: an already-stored value being restored
    description: str | None = None


def count_live(session: Session, env: Environment) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Secret)
        .where(Secret.environment_id == env.id, Secret.deleted_at.is_(None))
    )
    return count or 0


def _fresh(who: str | None, now: datetime) -> dict[str, Any]:
    """The columns of an entry starting over (new, or revived after a delete). The version
    counter is kept: numbers continue, and old versions stay for deployments that run them."""
    return {
        "deleted_at": None,
        "tombstone": False,
        "has_value": False,
        "description": None,
        "required": False,
        "created_at": now,
        "created_by": who,
        "updated_at": now,
        "updated_by": who,
    }


def _load(session: Session, env: Environment, names: list[str]) -> dict[str, Secret]:
    rows = session.scalars(
        select(Secret)
        .where(Secret.environment_id == env.id, Secret.name.in_(names))
        .execution_options(populate_existing=True)
    )
    return {row.name: row for row in rows}


def rows_for(
    session: Session, principal: Principal, env: Environment, names: list[str], *, create: bool
) -> dict[str, Secret]:
    """The environment's live rows for `names`; `create`: made (or revived) where missing, else
    404. A concurrent creator of the same name is joined, not fought."""
    existing = _load(session, env, names)
    if not create:
        for name in names:
            if name not in existing or existing[name].deleted_at is not None:
                raise NotFound(f"No secret {name!r} in this environment.", param="name")
        return existing
    dead = [row.id for row in existing.values() if row.deleted_at is not None]
    absent = [name for name in dict.fromkeys(names) if name not in existing]
    if not dead and not absent:
        return existing
    rules.check_room(count_live(session, env), len(dead) + len(absent))
    now, who = utcnow(), actor_id(principal)
    if dead:
        session.execute(
            update(Secret)
            .where(Secret.id.in_(dead), Secret.deleted_at.is_not(None))
            .values(**_fresh(who, now))
            .execution_options(synchronize_session=False)
        )
    if absent:
        insert_if_absent(
            session,
            Secret,
            [
                {
                    "id": new_id("sec"),
                    "environment_id": env.id,
                    "name": name,
                    "latest_version": 0,
                    **_fresh(who, now),
                }
                for name in absent
            ],
        )
    return _load(session, env, names)


def _allocate_versions(session: Session, principal: Principal, ids: list[str]) -> dict[str, int]:
    result = session.execute(
        update(Secret)
        .where(Secret.id.in_(ids))
        .values(
            latest_version=Secret.latest_version + 1,
            has_value=True,
            tombstone=False,
            updated_at=utcnow(),
            updated_by=actor_id(principal),
        )
        .returning(Secret.id, Secret.latest_version)
        .execution_options(synchronize_session=False)
    )
    return {secret_id: int(version) for secret_id, version in result}


def _checked(change: NewValue) -> bytes:
    if isinstance(change.value, bytes):
        return change.value
    try:
        return rules.check_value(change.value)
    except ValidationFailed as err:
        raise ValueRejected(err, change.name) from None


def write_values(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: Environment,
    changes: list[NewValue],
    *,
    create: bool = True,
    restored_from: int | None = None,
) -> list[tuple[Secret, int]]:
    """A new version of each key (names distinct); returns each row and its new version.

    Every route that sets a value (PUT, import, restore, the team/site/env path PUT …/value) comes
    through here, so the one right it needs is checked here too, whatever the route declared."""
    principal.require(SET_VALUE)
    for change in changes:
        rules.check_name(change.name)
    names = [change.name for change in changes]
    rows = rows_for(session, principal, env, names, create=create)
    numbers = _allocate_versions(session, principal, [rows[name].id for name in names])
    rows = _load(session, env, names)
    who = actor_id(principal)
    written: list[tuple[Secret, int]] = []
    for change in changes:
        # Checked here, after rows were written, on purpose: a bad value half-way through an
        # import must (and does) roll back everything before it.
        value = _checked(change)
        row = rows[change.name]
        if change.description is not None:
            row.description = change.description
        version = seal_version(keyring, env, row.id, row.name, numbers[row.id], value)
        version.created_by, version.restored_from = who, restored_from
        session.add(version)
        written.append((row, numbers[row.id]))
    session.flush()
    return written
