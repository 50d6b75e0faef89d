"""Minting, changing and revoking keys: the rules, no HTTP. The plaintext leaves only as a
return value. Who may see which key, and the no-escalation checks, live in `keys.rights`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.clock import rfc3339, utcnow
from forge.errors import Conflict, NotFound, ValidationFailed
from forge.keys import durations, rights, tokens
from forge.keys.models import ApiKey, KeySecret
from forge.keys.schemas import KeyCreate, KeyUpdate
from forge.principal import Principal
from forge.tenancy.models import Client, Membership, Team


@dataclass(frozen=True)
class MintedKey:
    key: ApiKey
    secret: str
    prefix: str


@dataclass(frozen=True)
class KeyOwner:
    """Who a key is minted for (the API shows it as `schemas.Owner`)."""

    team_id: str
    client_id: str | None  # None: a service token acting as the team

    @property
    def type(self) -> str:
        """`ApiKey.owner_type`: "client" for a personal key, "team" for a service token."""
        return "client" if self.client_id else "team"


@dataclass(frozen=True)
class KeyFilter:
    owner: str | None = None  # "client" | "team"
    mode: str | None = None
    revoked: bool | None = None
    expiring_before: datetime | None = None


def owner_for(session: Session, owner_id: str, team_id: str | None = None) -> KeyOwner:
    """A `cli_…` id names a person (personal key), a `team_…` id a team (service token)."""
    if owner_id.startswith("team_"):
        if session.get(Team, owner_id) is None:
            raise NotFound(f"No team {owner_id!r}.", param="owner")
        return KeyOwner(team_id=owner_id, client_id=None)
    client = session.get(Client, owner_id)
    if client is None:
        raise NotFound(f"No client {owner_id!r}.", param="owner")
    memberships = session.query(Membership).filter(Membership.client_id == owner_id).all()
    if team_id is not None:
        memberships = [m for m in memberships if m.team_id == team_id]
    if len(memberships) != 1:
        raise ValidationFailed(
            "The client must belong to exactly one team here; name the team.", param="owner"
        )
    return KeyOwner(team_id=memberships[0].team_id, client_id=client.id)


def expiry_after(now: datetime, ttl: timedelta) -> datetime:
    """When a key given `ttl` from `now` stops working, within the one lifetime rule."""
    try:
        return now + durations.check_ttl(ttl)
    except ValueError as err:
        raise ValidationFailed(f"expires_in {err}.", param="expires_in") from None


def record_event(
    session: Session,
    key: ApiKey,
    action: str,
    actor: Principal | None,
    system: str | None = None,
    **data: object,
) -> None:
    audit.record(
        session,
        team_id=key.team_id,
        action=action,
        actor=actor,
        resource_type="api_key",
        resource_id=key.id,
        data=data,
        mode=key.mode,
        system=system,
    )


def mint(
    session: Session,
    *,
    owner: KeyOwner,
    mode: str,
    name: str,
    scopes: list[str],
    created_by: Principal | None,
    ttl: timedelta = durations.DEFAULT_TTL,
    resource: tuple[str, str] | None = None,
    ip_allowlist: list[str] | None = None,
) -> MintedKey:
    rights.check_usable(scopes, owner.type)
    now = utcnow()
    key = ApiKey(
        team_id=owner.team_id,
        owner_type=owner.type,
        client_id=owner.client_id,
        mode=mode,
        name=name,
        scopes=sorted(scopes),
        resource_type=resource[0] if resource else None,
        resource_id=resource[1] if resource else None,
        ip_allowlist=ip_allowlist or [],
        expires_at=expiry_after(now, ttl),
        created_by=(created_by.key_id if created_by else "operator"),
        created_at=now,
        updated_at=now,
    )
    session.add(key)
    session.flush()
    secret, prefix = add_secret(session, key)
    record_event(
        session,
        key,
        "key.created",
        created_by,
        prefix=f"{prefix}…",
        name=name,
        scopes=key.scopes,
        resource=rights.describe(resource),
        expires_at=rfc3339(key.expires_at),
    )
    return MintedKey(key=key, secret=secret, prefix=prefix)


def add_secret(session: Session, key: ApiKey) -> tuple[str, str]:
    secret = tokens.generate(tokens.family_of(key.owner_type), key.mode)
    prefix = tokens.public_prefix(secret)
    session.add(KeySecret(key_id=key.id, secret_hash=tokens.hash_secret(secret), prefix=prefix))
    session.flush()
    return secret, prefix


def create_key(session: Session, caller: Principal, body: KeyCreate) -> MintedKey:
    """A key minted through the API: the caller's mode, within the caller's rights."""
    rights.check_can_mint(caller, body.owner)
    pin = body.resource.as_constraint() if body.resource else None
    rights.check_within(session, caller, body.scopes, pin)
    return mint(
        session,
        owner=KeyOwner(
            team_id=caller.team_id, client_id=caller.client_id if body.owner == "client" else None
        ),
        mode=caller.mode,
        name=body.name,
        scopes=body.scopes,
        created_by=caller,
        ttl=body.expires_in,
        resource=pin,
        ip_allowlist=body.ip_allowlist,
    )


def keys_query(session: Session, caller: Principal, wanted: KeyFilter) -> Select[ApiKey]:
    """The statement selecting the keys the caller sees that match `wanted` (the route pages
    it)."""
    stmt = rights.visible_keys(session, caller)
    if wanted.owner is not None:
        stmt = stmt.where(ApiKey.owner_type == wanted.owner)
    if wanted.mode is not None:
        stmt = stmt.where(ApiKey.mode == wanted.mode)
    if wanted.revoked is not None:
        revoked = ApiKey.revoked_at.is_not(None)
        stmt = stmt.where(revoked if wanted.revoked else ~revoked)
    if wanted.expiring_before is not None:
        stmt = stmt.where(ApiKey.expires_at < wanted.expiring_before)
    return stmt


def secrets_of(session: Session, key_ids: list[str]) -> dict[str, list[KeySecret]]:
    found: dict[str, list[KeySecret]] = {key_id: [] for key_id in key_ids}
    stmt = select(KeySecret).where(KeySecret.key_id.in_(key_ids)).order_by(KeySecret.id.desc())
    for secret in session.scalars(stmt):
        found[secret.key_id].append(secret)
    return found


def lock_key(session: Session, key_id: str) -> None:
    """Take the key's write lock before reading anything of it: an UPDATE first, so SQLite
    takes its write lock and PostgreSQL its row lock. Changes to one key are thus serialised
    (two rolls, a roll and a revoke, two PATCHes), in one process or many."""
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(updated_at=ApiKey.updated_at))


def require_changeable(key: ApiKey, now: datetime) -> None:
    if key.revoked_at is not None:
        raise Conflict(f"API key {key.id!r} is revoked; mint a new one.", param="id")
    if key.expires_at <= now:
        raise Conflict(f"API key {key.id!r} has expired; mint a new one.", param="id")


def update_key(session: Session, caller: Principal, key_id: str, body: KeyUpdate) -> ApiKey:
    """The patched key, as a whole, must lie within the caller's rights (no escalation)."""
    now = utcnow()
    lock_key(session, key_id)
    key = rights.visible_key(session, caller, key_id, for_update=True)
    require_changeable(key, now)
    given = body.model_fields_set
    scopes = body.scopes if "scopes" in given and body.scopes is not None else key.scopes
    pin = rights.key_pin(key)
    if "resource" in given:
        pin = body.resource.as_constraint() if body.resource else None
    rights.check_within(session, caller, scopes, pin)
    rights.check_usable(scopes, key.owner_type)
    if "name" in given and body.name is not None:
        key.name = body.name
    key.scopes = sorted(scopes)
    key.resource_type, key.resource_id = pin if pin else (None, None)
    if "expires_in" in given and body.expires_in is not None:
        key.expires_at = expiry_after(now, body.expires_in)
    if "ip_allowlist" in given:
        key.ip_allowlist = body.ip_allowlist or []
    key.updated_at = now
    record_event(
        session,
        key,
        "key.updated",
        caller,
        changed=sorted(given),
        scopes=key.scopes,
        resource=rights.describe(pin),
        expires_at=rfc3339(key.expires_at),
        ip_allowlist=key.ip_allowlist,
    )
    return key


def end_secrets(session: Session, key: ApiKey, now: datetime) -> None:
    session.execute(
        update(KeySecret)
        .where(KeySecret.key_id == key.id, KeySecret.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke(session: Session, key_id: str, actor: Principal | None) -> ApiKey:
    """Ends the key and every secret of it at once; the next request anywhere gets 401."""
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"No API key {key_id!r}.", param="id")
    revoke_loaded(session, key, actor)
    return key


def revoke_loaded(
    session: Session, key: ApiKey, actor: Principal | None, system: str | None = None
) -> bool:
    """True when this call revoked the key (False: it already was)."""
    if key.revoked_at is not None:
        return False
    now = utcnow()
    key.revoked_at = now
    key.updated_at = now
    end_secrets(session, key, now)
    record_event(session, key, "key.revoked", actor, system)
    return True


def revoke_key(session: Session, caller: Principal, key_id: str) -> ApiKey:
    """DELETE: any key the caller can see; revoking never widens anything."""
    lock_key(session, key_id)
    key = rights.visible_key(session, caller, key_id, for_update=True)
    revoke_loaded(session, key, caller)
    return key


def self_view(session: Session, caller: Principal) -> tuple[ApiKey, KeySecret | None]:
    """The calling key, and its older secret if one is still in its grace window."""
    key = session.get_one(ApiKey, caller.key_id)
    previous = session.scalar(
        select(KeySecret)
        .where(
            KeySecret.key_id == key.id,
            KeySecret.revoked_at.is_(None),
            KeySecret.expires_at > utcnow(),
        )
        .limit(1)
    )
    return key, previous


def get_key(session: Session, key_id: str) -> ApiKey:
    """For the operator, who sees every key."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id!r}.", param="id")
    return key


def operator_list(session: Session, team_id: str, revoked: bool | None) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.team_id == team_id)
    if revoked is not None:
        stmt = stmt.where(
            ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None)
        )
    return list(session.scalars(stmt.order_by(ApiKey.id.desc())))
