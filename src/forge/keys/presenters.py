"""Keys and secrets as the API shows them: metadata only, prefixes with an ellipsis."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from forge.keys import tokens
from forge.keys.models import ApiKey, KeySecret
from forge.keys.schemas import PIN_NAMES, KeyOut, KeySelf, Owner, Resource, SecretOut
from forge.principal import Principal
from forge.ratelimit.limiter import Budget
from forge.ratelimit.schemas import BucketOut


def shown(prefix: str) -> str:
    """`mfk_live_b1c4` → `mfk_live_b1c4…`, the way every response shows a prefix."""
    return f"{prefix}…"


def resource_of(resource_type: str | None, resource_id: str | None) -> Resource:
    if resource_type is None or resource_id is None:
        return None
    return {PIN_NAMES[resource_type]: resource_id}


def owner_of(key: ApiKey) -> Owner:
    if key.owner_type == "client" and key.client_id:
        return Owner(type="client", id=key.client_id)
    return Owner(type="team", id=key.team_id)


def _status(secret: KeySecret, now: datetime) -> Literal["current", "previous", "ended"]:
    if secret.revoked_at is not None or (secret.expires_at and secret.expires_at <= now):
        return "ended"
    return "current" if secret.expires_at is None else "previous"


def secret_out(secret: KeySecret, now: datetime) -> SecretOut:
    return SecretOut(
        prefix=shown(secret.prefix),
        status=_status(secret, now),
        created_at=secret.created_at,
        expires_at=secret.expires_at,
        revoked_at=secret.revoked_at,
        last_used_at=secret.last_used_at,
        last_used_ip=secret.last_used_ip,
    )


def key_out(key: ApiKey, secrets: list[KeySecret], now: datetime) -> KeyOut:
    """`secrets` newest first; the key's prefix is its newest secret's."""
    return KeyOut(
        id=key.id,
        name=key.name,
        family=tokens.family_of(key.owner_type),
        mode=key.mode,
        owner=owner_of(key),
        prefix=shown(secrets[0].prefix) if secrets else "",
        scopes=list(key.scopes),
        resource=resource_of(key.resource_type, key.resource_id),
        ip_allowlist=list(key.ip_allowlist),
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        created_by=key.created_by,
        created_at=key.created_at,
        updated_at=key.updated_at,
        secrets=[secret_out(s, now) for s in secrets],
    )


def self_out(
    principal: Principal, key: ApiKey, previous: KeySecret | None, budgets: list[Budget]
) -> KeySelf:
    constraint = principal.constraint
    return KeySelf(
        id=key.id,
        name=key.name,
        family=principal.family,
        mode=principal.mode,
        owner=owner_of(key),
        prefix=shown(principal.key_prefix),
        scopes=sorted(principal.scopes),
        effective_scopes=sorted(principal.effective_scopes),
        resource=resource_of(constraint.type, constraint.id) if constraint else None,
        ip_allowlist=list(principal.ip_allowlist),
        expires_at=principal.expires_at,
        previous_prefix=shown(previous.prefix) if previous else None,
        previous_expires_at=previous.expires_at if previous else None,
        budgets=[BucketOut.of(budget) for budget in budgets],
    )
