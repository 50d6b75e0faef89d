"""Who is calling: a key's secret resolved, on every request, to its current effective rights."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forge.clock import utcnow
from forge.errors import AuthenticationFailed, InsufficientScope
from forge.fastread import FastReader, Query, as_datetime, as_json
from forge.keys import scopes as catalogue
from forge.keys import tokens

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
            held_but_not_allowed = scope in self.scopes
            raise InsufficientScope(
                scope,
                sorted(self.scopes),
                role=(self.role or "team") if held_but_not_allowed else None,
            )

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


_LOOKUP = Query(
    "SELECT s.id, s.secret_hash, s.prefix, s.expires_at, s.revoked_at,"
    " k.id, k.team_id, k.owner_type, k.client_id, k.mode, k.scopes, k.resource_type,"
    " k.resource_id, k.ip_allowlist, k.expires_at, k.revoked_at, c.active, m.role,"
    " t.secret_value_roles"
    " FROM key_secrets s JOIN api_keys k ON k.id = s.key_id"
    " JOIN teams t ON t.id = k.team_id"
    " LEFT JOIN clients c ON c.id = k.client_id"
    " LEFT JOIN memberships m ON m.client_id = k.client_id AND m.team_id = k.team_id"
    " WHERE s.secret_hash = ?"
)


def _owner_rights(
    owner_type: str, client_active: Any, role: str | None, secret_value_roles: str
) -> frozenset[str]:
    if owner_type == "team":
        return catalogue.TEAM_PRINCIPAL_RIGHTS
    if not client_active or role is None:
        raise AuthenticationFailed(UNKNOWN_KEY)
    return catalogue.role_rights(role, secret_value_roles)


def _expired(moment: Any, now: datetime) -> bool:
    expires = as_datetime(moment)
    return expires is not None and expires <= now


def resolve(reader: FastReader, token: str) -> Principal:
    """Raise 401 unless `token` is a live secret of a live key whose owner may still act."""
    parsed = tokens.parse(token)
    row = reader.fetch_one(_LOOKUP, (parsed.secret_hash,))
    if row is None:
        raise AuthenticationFailed(UNKNOWN_KEY)
    (
        secret_id,
        stored_hash,
        prefix,
        secret_expires,
        secret_revoked,
        key_id,
        team_id,
        owner_type,
        client_id,
        mode,
        scopes,
        resource_type,
        resource_id,
        ip_allowlist,
        key_expires,
        key_revoked,
        client_active,
        role,
        secret_value_roles,
    ) = row
    # The index found the row by hash equality; compare once more in constant time.
    if not hmac.compare_digest(stored_hash, parsed.secret_hash):
        raise AuthenticationFailed(UNKNOWN_KEY)
    now = utcnow()
    if (
        key_revoked is not None
        or secret_revoked is not None
        or _expired(key_expires, now)
        or _expired(secret_expires, now)
        or mode != parsed.mode
    ):
        raise AuthenticationFailed(UNKNOWN_KEY)
    rights = _owner_rights(owner_type, client_active, role, secret_value_roles)
    return Principal(
        key_id=key_id,
        secret_id=secret_id,
        key_prefix=prefix,
        family=parsed.family,
        mode=mode,
        team_id=team_id,
        client_id=client_id,
        role=role if owner_type == "client" else None,
        scopes=frozenset(as_json(scopes)),
        rights=rights,
        constraint=Constraint(resource_type, resource_id) if resource_id else None,
        ip_allowlist=tuple(as_json(ip_allowlist) or ()),
        expires_at=as_datetime(key_expires) or now,
    )
