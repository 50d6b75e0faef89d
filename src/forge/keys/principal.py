"""Who is calling: a key's secret resolved, on every request, to its current effective rights."""

from __future__ import annotations

import functools
import hmac
from datetime import UTC, datetime
from typing import Any

from forge.clock import utcnow
from forge.driver import DriverSQL, Reads, as_datetime, as_json
from forge.errors import AuthenticationFailed
from forge.keys import scopes as catalogue
from forge.keys import tokens
from forge.principal import Constraint, Principal

UNKNOWN_KEY = "The API key is unknown, expired or revoked."


_LOOKUP = DriverSQL(
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


# The row is read on every request (a revocation is immediate); what its columns parse to is
# not: SQLite hands back the same JSON texts request after request, parsed once each here
# (timestamps: `as_datetime`). PostgreSQL's driver hands back lists, which need no parsing.
@functools.lru_cache(maxsize=4096)
def _scopes_of_text(text: str | bytes) -> frozenset[str]:
    return frozenset(as_json(text))


@functools.lru_cache(maxsize=4096)
def _allowlist_of_text(text: str | bytes) -> tuple[str, ...]:
    return tuple(as_json(text) or ())


def _scopes(raw: Any) -> frozenset[str]:
    return _scopes_of_text(raw) if isinstance(raw, str | bytes) else frozenset(raw)


def _allowlist(raw: Any) -> tuple[str, ...]:
    return _allowlist_of_text(raw) if isinstance(raw, str | bytes) else tuple(raw or ())


def _expired(moment: Any, now: datetime) -> bool:
    expires = as_datetime(moment)
    return expires is not None and expires <= now


def resolve(reads: Reads, token: str) -> Principal:
    """Raise 401 unless `token` is a live secret of a live key whose owner may still act."""
    parsed = tokens.parse(token)
    row = reads.fetch_one(_LOOKUP, (parsed.secret_hash,))
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
        family=tokens.family_of(owner_type),
        mode=mode,
        team_id=team_id,
        client_id=client_id,
        role=role if owner_type == "client" else None,
        scopes=_scopes(scopes),
        rights=rights,
        constraint=Constraint(resource_type, resource_id) if resource_id else None,
        ip_allowlist=_allowlist(ip_allowlist),
        expires_at=as_datetime(key_expires) or now,
    )


OPERATOR = "operator"  # the `created_by` and key id of what `forge admin` does: no key behind it


def operator_in(team_id: str, mode: str) -> Principal:
    """The platform operator (`forge admin`) acting in a team and mode: every right, no pin, no
    key. Every rule of the services that is not about a key's rights still holds for it: slugs,
    names taken, a project of another team."""
    return Principal(
        key_id=OPERATOR,
        secret_id=OPERATOR,
        key_prefix=OPERATOR,
        family=OPERATOR,
        mode=mode,
        team_id=team_id,
        client_id=None,
        role=None,
        scopes=catalogue.ALL_SCOPES,
        rights=catalogue.ALL_SCOPES,
        constraint=None,
        ip_allowlist=(),
        expires_at=datetime.max.replace(tzinfo=UTC),
    )
