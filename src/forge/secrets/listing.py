"""What the secret lists show: each effective key, where it comes from, and whether the
environment's active (newest) deployment already runs its current version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from forge.deployments import repository
from forge.errors import NotFound
from forge.secrets import rules
from forge.secrets.inheritance import Effective, SecretRow, resolve
from forge.secrets.models import Secret, SecretVersion
from forge.sites.service import EnvironmentLike


@dataclass(frozen=True)
class Entry:
    effective: Effective
    deployed: bool  # the active deployment runs exactly this version (False: none yet)

    @property
    def secret(self) -> SecretRow:
        return self.effective.secret


def _active_snapshot(session: Session, env: EnvironmentLike) -> dict[str, tuple[str, int]]:
    active = repository.active_id(session, env.id)
    if active is None:
        return {}
    return {
        item.name: (item.source_environment_id, item.version)
        for item in repository.snapshot(session, active)
    }


def entries(session: Session, env: EnvironmentLike, with_tombstones: bool = True) -> list[Entry]:
    running = _active_snapshot(session, env)
    return [
        Entry(
            effective=item,
            deployed=item.secret.has_value
            and running.get(item.name) == (item.source.id, item.secret.latest_version),
        )
        for item in resolve(session, env, with_tombstones)
    ]


def entry(session: Session, env: EnvironmentLike, name: str, with_tombstones: bool = True) -> Entry:
    rules.check_name(name)
    for item in entries(session, env, with_tombstones):
        if item.effective.name == name:
            return item
    raise NotFound(f"No secret {name!r} in environment {env.id}.", param="key")


def current_versions(session: Session, effective: list[Effective]) -> dict[str, SecretVersion]:
    """The version in force of each key that has a value, in one query, by name."""
    ids = {item.secret.id: item.name for item in effective if item.secret.has_value}
    if not ids:
        return {}
    rows = session.scalars(
        select(SecretVersion)
        .join(
            Secret,
            and_(
                Secret.id == SecretVersion.secret_id,
                Secret.latest_version == SecretVersion.version,
            ),
        )
        .where(Secret.id.in_(list(ids)))
    ).all()
    return {ids[row.secret_id]: row for row in rows}
