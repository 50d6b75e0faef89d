"""Who is calling: a key's secret resolved, on every request, to its current effective rights."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.errors import AuthenticationFailed, InsufficientScope
from forge.keys import scopes as catalogue
from forge.keys import tokens
from forge.keys.models import ApiKey, KeySecret
from forge.tenancy.models import Client, Membership

UNKNOWN_KEY = "The API key is unknown, expired or revoked."


@dataclass(frozen=True)
class Constraint:
    """What a key is pinned to: one team, project, site or environment, and all beneath it."""

    type: str
    id: str

    def covers(
        self,
        *,
        team_id: str,
        project_id: str | None = None,
        site_id: str | None = None,
        env_id: str | None = None,
    ) -> bool:
        pinned = {"team": team_id, "project": project_id, "site": site_id, "environment": env_id}
        return pinned.get(self.type) == self.id


@dataclass(frozen=True)
class Principal:
    key_id: str
    secret_id: str
    key_prefix: str
    family: str
    mode: str
    team_id: str
    client_id: str | None
    role: str | None  # the client's current role; None for a service token (acts as the team)
    scopes: frozenset[str]
    rights: frozenset[str]
    constraint: Constraint | None
    ip_allowlist: tuple[str, ...]
    expires_at: datetime

    @property
    def effective_scopes(self) -> frozenset[str]:
        return self.scopes & self.rights

    def require(self, scope: str) -> None:
        if scope not in self.effective_scopes:
            raise InsufficientScope(scope, sorted(self.scopes))

    def covers(
        self,
        *,
        team_id: str,
        project_id: str | None = None,
        site_id: str | None = None,
        env_id: str | None = None,
    ) -> bool:
        if team_id != self.team_id:
            return False
        if self.constraint is None:
            return True
        return self.constraint.covers(
            team_id=team_id, project_id=project_id, site_id=site_id, env_id=env_id
        )


_LOOKUP = (
    select(KeySecret, ApiKey, Client.active, Membership.role)
    .join(ApiKey, ApiKey.id == KeySecret.key_id)
    .outerjoin(Client, Client.id == ApiKey.client_id)
    .outerjoin(
        Membership, (Membership.client_id == ApiKey.client_id) & (Membership.team_id == ApiKey.team_id)
    )
)


def _owner_rights(key: ApiKey, client_active: bool | None, role: str | None) -> frozenset[str]:
    if key.owner_type == "team":
        return catalogue.TEAM_PRINCIPAL_RIGHTS
    if not client_active or role is None:
        raise AuthenticationFailed(UNKNOWN_KEY)
    return catalogue.ROLE_RIGHTS[role]


def resolve(session: Session, token: str) -> Principal:
    """Raise 401 unless `token` is a live secret of a live key whose owner may still act."""
    parsed = tokens.parse(token)
    found = session.execute(_LOOKUP.where(KeySecret.secret_hash == parsed.secret_hash)).first()
    if found is None:
        raise AuthenticationFailed(UNKNOWN_KEY)
    secret, key, client_active, role = found
    # The index found the row by hash equality; compare once more in constant time.
    if not hmac.compare_digest(secret.secret_hash, parsed.secret_hash):
        raise AuthenticationFailed(UNKNOWN_KEY)
    now = utcnow()
    if (
        key.revoked_at is not None
        or secret.revoked_at is not None
        or key.expires_at <= now
        or (secret.expires_at is not None and secret.expires_at <= now)
        or key.mode != parsed.mode
    ):
        raise AuthenticationFailed(UNKNOWN_KEY)
    rights = _owner_rights(key, client_active, role)
    constraint = Constraint(key.resource_type, key.resource_id) if key.resource_id else None
    return Principal(
        key_id=key.id,
        secret_id=secret.id,
        key_prefix=secret.prefix,
        family=parsed.family,
        mode=key.mode,
        team_id=key.team_id,
        client_id=key.client_id,
        role=role if key.owner_type == "client" else None,
        scopes=frozenset(key.scopes),
        rights=rights,
        constraint=constraint,
        ip_allowlist=tuple(key.ip_allowlist or ()),
        expires_at=key.expires_at,
    )
