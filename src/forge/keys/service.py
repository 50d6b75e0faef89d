"""Minting and revoking keys: the rules, no HTTP. The plaintext leaves only as a return value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.clock import utcnow
from forge.errors import NotFound, ValidationFailed
from forge.keys import tokens
from forge.keys.models import ApiKey, KeySecret
from forge.keys.principal import Principal
from forge.tenancy.models import Client, Membership, Team

DEFAULT_TTL = timedelta(days=90)
MAX_TTL = timedelta(days=366)


@dataclass(frozen=True)
class MintedKey:
    key: ApiKey
    secret: str
    prefix: str


@dataclass(frozen=True)
class Owner:
    team_id: str
    client_id: str | None  # None: a service token acting as the team

    @property
    def family(self) -> str:
        return tokens.FAMILY_PERSONAL if self.client_id else tokens.FAMILY_SERVICE


def owner_for(session: Session, owner_id: str, team_id: str | None = None) -> Owner:
    """A `cli_…` id names a person (personal key), a `team_…` id a team (service token)."""
    if owner_id.startswith("team_"):
        if session.get(Team, owner_id) is None:
            raise NotFound(f"No team {owner_id!r}.", param="owner")
        return Owner(team_id=owner_id, client_id=None)
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
    return Owner(team_id=memberships[0].team_id, client_id=client.id)


def ttl_within_limits(ttl: timedelta) -> timedelta:
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValidationFailed("expires_in must be more than 0 and at most 1y.", param="expires_in")
    return ttl


def mint(
    session: Session,
    *,
    owner: Owner,
    mode: str,
    name: str,
    scopes: list[str],
    created_by: Principal | None,
    ttl: timedelta = DEFAULT_TTL,
    resource: tuple[str, str] | None = None,
    ip_allowlist: list[str] | None = None,
) -> MintedKey:
    now = utcnow()
    key = ApiKey(
        team_id=owner.team_id,
        owner_type="client" if owner.client_id else "team",
        client_id=owner.client_id,
        mode=mode,
        name=name,
        scopes=sorted(scopes),
        resource_type=resource[0] if resource else None,
        resource_id=resource[1] if resource else None,
        ip_allowlist=ip_allowlist or [],
        expires_at=now + ttl_within_limits(ttl),
        created_by=(created_by.key_id if created_by else "operator"),
        created_at=now,
        updated_at=now,
    )
    session.add(key)
    session.flush()
    secret, prefix = add_secret(session, key)
    audit.record(
        session,
        team_id=key.team_id,
        action="key.created",
        actor=created_by,
        resource_type="api_key",
        resource_id=key.id,
        data={"prefix": prefix, "scopes": key.scopes, "mode": mode},
    )
    return MintedKey(key=key, secret=secret, prefix=prefix)


def add_secret(session: Session, key: ApiKey) -> tuple[str, str]:
    family = tokens.FAMILY_PERSONAL if key.owner_type == "client" else tokens.FAMILY_SERVICE
    secret = tokens.generate(family, key.mode)
    prefix = tokens.public_prefix(secret)
    session.add(KeySecret(key_id=key.id, secret_hash=tokens.hash_secret(secret), prefix=prefix))
    session.flush()
    return secret, prefix


def revoke(session: Session, key_id: str, actor: Principal | None) -> ApiKey:
    """Ends the key and every secret of it at once; the next request anywhere gets 401."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id!r}.", param="id")
    if key.revoked_at is None:
        now = utcnow()
        key.revoked_at = now
        key.updated_at = now
        session.execute(
            update(KeySecret)
            .where(KeySecret.key_id == key.id, KeySecret.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.record(
            session,
            team_id=key.team_id,
            action="key.revoked",
            actor=actor,
            resource_type="api_key",
            resource_id=key.id,
        )
    return key
