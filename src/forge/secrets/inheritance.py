"""Effective secrets: an environment's own keys over those of its ancestors (child wins).

Two queries whatever the number of keys: the site's environments (for the chain), then
every live secret row of the whole chain at once; the nearest row per name wins, and a
tombstone there hides the inherited key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.secrets.models import Secret
from forge.sites.models import Environment
from forge.sites.service import EnvironmentLike


@dataclass(frozen=True, slots=True)
class SecretRow:
    """A secret as read for lists: plain columns, no ORM identity (a list of 1,000 keys costs
    a third of what loading 1,000 ORM objects does)."""

    id: str
    environment_id: str
    name: str
    description: str | None
    required: bool
    tombstone: bool
    has_value: bool
    latest_version: int
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


_COLUMNS = [getattr(Secret, name) for name in SecretRow.__slots__]


@dataclass(frozen=True)
class Effective:
    secret: SecretRow
    source: EnvironmentLike  # where the row in force lives: this environment or an ancestor

    @property
    def name(self) -> str:
        return self.secret.name


def chain(session: Session, env: EnvironmentLike) -> list[EnvironmentLike]:
    """The environment then its ancestors, nearest first. One query loads the site's
    environments (a handful) and the walk happens in memory; cycles are refused when a parent
    is set, and the walk stops at a repeat anyway."""
    siblings = {
        e.id: e
        for e in session.scalars(select(Environment).where(Environment.site_id == env.site_id))
    }
    found: list[EnvironmentLike] = [env]
    parent_id = env.parent_id
    while (
        parent_id is not None and parent_id in siblings and parent_id not in {e.id for e in found}
    ):
        found.append(siblings[parent_id])
        parent_id = siblings[parent_id].parent_id
    return found


def resolve(
    session: Session, env: EnvironmentLike, with_tombstones: bool = False
) -> list[Effective]:
    """Every effective key of `env`, sorted by name."""
    envs = chain(session, env)
    depth = {e.id: i for i, e in enumerate(envs)}
    rows = [
        SecretRow(*columns)
        for columns in session.execute(
            select(*_COLUMNS).where(
                Secret.environment_id.in_(list(depth)), Secret.deleted_at.is_(None)
            )
        )
    ]
    nearest: dict[str, SecretRow] = {}
    for row in rows:
        held = nearest.get(row.name)
        if held is None or depth[row.environment_id] < depth[held.environment_id]:
            nearest[row.name] = row
    return [
        Effective(secret=row, source=envs[depth[row.environment_id]])
        for name, row in sorted(nearest.items())
        if with_tombstones or not row.tombstone
    ]
