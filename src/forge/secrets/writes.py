"""Writing values, for one key or a thousand: a few statements whatever the count.

A set of keys that already hold a row (the usual case: a new value for a known key) is two
statements: one atomic `UPDATE … RETURNING` allocates each live row its next version number
(concurrent sets of a key each get their own; the last to commit is in force) and hands back the
row, then one INSERT stores every sealed version. Names without a live row are first made (or
revived) within the per-environment limit, then allocated the same way. Every value is checked
after the rows are written, so a bad one half-way through an import raises and the request's
unit of work is rolled back whole.

Statements on the tables, not ORM objects: no loads, no identity map to populate, no
unit-of-work flush; the two of every write (the allocation and the INSERT) at the driver, on the
unit's connection (`forge.db.run_driver`; docs/benchmarks.md, (d)). What the ORM may hold of a
written row is expired.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from forge.clock import utcnow
from forge.crypto.keyring import Keyring
from forge.db import insert_if_absent, run_driver, stored_datetime
from forge.driver import DriverSQL, as_datetime
from forge.errors import NotFound, ValidationFailed
from forge.ids import new_id
from forge.keys.scopes import SET_VALUE
from forge.principal import Principal
from forge.secrets import rules
from forge.secrets.inheritance import SecretRow
from forge.secrets.models import Secret
from forge.secrets.values import sealed_columns
from forge.sites.service import EnvironmentLike

# The mapped tables, for Core statements (typed as the Table each is).
SECRETS = cast(Table, Secret.__table__)


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


def count_live(session: Session, env: EnvironmentLike) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(SECRETS)
        .where(SECRETS.c.environment_id == env.id, SECRETS.c.deleted_at.is_(None))
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


def make_entries(
    session: Session, principal: Principal, env: EnvironmentLike, names: list[str]
) -> None:
    """Entries for `names`, none of which is live here: made, or revived where a deleted row
    exists, within the per-environment limit. A concurrent creator of a name is joined, not
    fought (INSERT … ON CONFLICT DO NOTHING)."""
    rules.check_room(count_live(session, env), len(names))
    now, who = utcnow(), actor_id(principal)
    session.execute(
        update(SECRETS)
        .where(
            SECRETS.c.environment_id == env.id,
            SECRETS.c.name.in_(names),
            SECRETS.c.deleted_at.is_not(None),
        )
        .values(**_fresh(who, now))
    )
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
            for name in names
        ],
    )


_RETURNED = ", ".join(SecretRow.__slots__)
_INSERT_VERSION = DriverSQL(
    "INSERT INTO secret_versions (id, secret_id, version, ciphertext, nonce, wrapped_key,"
    " master_key_id, restored_from, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@functools.lru_cache(maxsize=256)
def _allocation(count: int, described: int, live_only: bool) -> DriverSQL:
    """`UPDATE … RETURNING` giving `count` named rows of an environment each its next version
    number (`described` of them a new description); built once per shape, so a request pays
    no statement construction, compilation or cache-key generation (docs/benchmarks.md, (d))."""
    description = ""
    if described:
        whens = " ".join("WHEN ? THEN ?" for _ in range(described))
        description = f", description = CASE name {whens} ELSE description END"
    names = ", ".join("?" for _ in range(count))
    live = " AND deleted_at IS NULL" if live_only else ""
    # Only placeholders and fixed column names are put into the text: values are all bound.
    return DriverSQL(
        "UPDATE secrets SET latest_version = latest_version + 1, has_value = ?,"  # noqa: S608
        f" tombstone = ?, updated_at = ?, updated_by = ?{description}"
        f" WHERE environment_id = ? AND name IN ({names}){live} RETURNING {_RETURNED}"
    )


def _row(columns: Any) -> SecretRow:
    """A RETURNING row as the driver gives it (SQLite: booleans as 0/1, datetimes as text)."""
    (id_, env_id, name, description, required, tombstone, has_value, version) = columns[:8]
    created_at, created_by, updated_at, updated_by = columns[8:]
    return SecretRow(
        id_,
        env_id,
        name,
        description,
        bool(required),
        bool(tombstone),
        bool(has_value),
        version,
        as_datetime(created_at) or utcnow(),
        created_by,
        as_datetime(updated_at) or utcnow(),
        updated_by,
    )


def _allocate(
    session: Session,
    env: EnvironmentLike,
    changes: list[NewValue],
    who: str | None,
    *,
    live_only: bool,
) -> dict[str, SecretRow]:
    """The next version number of each change's row (`live_only`: of a live row only), and
    the row as it now is, in one statement."""
    described = [
        (change.name, change.description) for change in changes if change.description is not None
    ]
    params: list[Any] = [True, False, stored_datetime(session, utcnow()), who]
    for name, description in described:
        params += [name, description]
    params += [env.id, *(change.name for change in changes)]
    statement = _allocation(len(changes), len(described), live_only)
    rows = run_driver(session, statement, [tuple(params)])
    return {row.name: row for row in map(_row, rows)}


def _checked(change: NewValue) -> bytes:
    if isinstance(change.value, bytes):
        return change.value
    try:
        return rules.check_value(change.value)
    except ValidationFailed as err:
        raise ValueRejected(err, change.name) from None


def _expire(session: Session, ids: Iterable[str]) -> None:
    """Expire what the session's identity map holds of rows written here without the ORM, so
    a later ORM read sees them as stored (a restore loaded its row; most units hold none)."""
    for secret_id in ids:
        held = session.identity_map.get(identity_key(Secret, secret_id))
        if held is not None:
            session.expire(held)


def write_values(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: EnvironmentLike,
    changes: list[NewValue],
    *,
    create: bool = True,
    restored_from: int | None = None,
) -> list[tuple[SecretRow, int]]:
    """A new version of each key (names distinct); returns each row and its new version.

    Every route that sets a value (PUT, import, restore, the team/site/env path PUT …/value) comes
    through here, so the one right it needs is checked here too, whatever the route declared."""
    principal.require(SET_VALUE)
    for change in changes:
        rules.check_name(change.name)
    who = actor_id(principal)
    rows = _allocate(session, env, changes, who, live_only=True)
    missing = [change for change in changes if change.name not in rows]
    if missing:
        if not create:
            raise NotFound(f"No secret {missing[0].name!r} in this environment.", param="name")
        make_entries(session, principal, env, [change.name for change in missing])
        rows.update(_allocate(session, env, missing, who, live_only=False))
    keyring.refresh()  # a rotation elsewhere switches the current key without a restart
    now, versions = stored_datetime(session, utcnow()), []
    for change in changes:
        # Checked here, after rows were written, on purpose: a bad value half-way through an
        # import must (and does) roll back everything before it.
        value = _checked(change)
        row = rows[change.name]
        sealed = sealed_columns(keyring, env, row.name, row.latest_version, value)
        versions.append(
            (
                new_id("secv"),
                row.id,
                row.latest_version,
                sealed["ciphertext"],
                sealed["nonce"],
                sealed["wrapped_key"],
                sealed["master_key_id"],
                restored_from,
                now,
                who,
            )
        )
    run_driver(session, _INSERT_VERSION, versions)
    _expire(session, (row.id for row in rows.values()))
    return [(rows[change.name], rows[change.name].latest_version) for change in changes]
