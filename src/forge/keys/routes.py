"""HTTP routes for API keys: all under `keys:write`, except `self`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from forge.clock import utcnow
from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope, ListEnvelope, Page, paginate
from forge.http.routing import ForgeRoute
from forge.keys import presenters, rights, rolling, service
from forge.keys.models import ApiKey
from forge.keys.schemas import (
    KeyCreate,
    KeyCreated,
    KeyOut,
    KeyRoll,
    KeyRolled,
    KeySelf,
    KeyUpdate,
)
from forge.ratelimit import service as limits
from forge.schemas import Rfc3339

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], route_class=ForgeRoute)

KeysWrite = Annotated[Access, Scoped("keys:write")]
KeysAction = Annotated[Access, Scoped("keys:write", bucket="write")]
AnyKey = Annotated[Access, Scoped(None, bucket="free")]


def _one(access: Access, key: ApiKey) -> Envelope[KeyOut]:
    secrets = service.secrets_of(access.session, [key.id])[key.id]
    return Envelope(data=presenters.key_out(key, secrets, utcnow()))


@router.get("", summary="List your keys (metadata only)")
def list_keys(
    access: KeysWrite,
    page: Page,
    owner: Annotated[
        Literal["client", "team"] | None,
        Query(description="`client`: personal keys; `team`: service tokens"),
    ] = None,
    mode: Annotated[Literal["live", "test"] | None, Query()] = None,
    revoked: Annotated[bool | None, Query()] = None,
    expiring_before: Annotated[Rfc3339 | None, Query(description="RFC 3339")] = None,
) -> ListEnvelope[KeyOut]:
    wanted = service.KeyFilter(
        owner=owner, mode=mode, revoked=revoked, expiring_before=expiring_before
    )
    stmt = service.keys_query(access.session, access.principal, wanted)
    rows, has_more = paginate(access.session, stmt, ApiKey.id, page)
    secrets = service.secrets_of(access.session, [k.id for k in rows])
    now = utcnow()
    return ListEnvelope(
        data=[presenters.key_out(k, secrets[k.id], now) for k in rows], has_more=has_more
    )


@router.post("", status_code=201, summary="Create a key; its secret is revealed once")
def create_key(access: KeysWrite, body: KeyCreate) -> Envelope[KeyCreated]:
    minted = service.create_key(access.session, access.principal, body)
    key = minted.key
    return Envelope(
        data=KeyCreated(
            id=key.id,
            name=key.name,
            secret=minted.secret,
            prefix=presenters.shown(minted.prefix),
            scopes=list(key.scopes),
            resource=presenters.resource_of(key.resource_type, key.resource_id),
            expires_at=key.expires_at,
            created_at=key.created_at,
        )
    )


@router.get("/self", summary="The calling key itself (spends nothing)")
async def get_self(access: AnyKey, request: Request) -> Envelope[KeySelf]:
    key, previous = await access.run(service.self_view, access.session, access.principal)
    budgets = await limits.budgets(request.app.state, access.principal)
    return Envelope(data=presenters.self_out(access.principal, key, previous, budgets))


@router.get("/{id}", summary="Get one key's metadata")
def get_key(access: KeysWrite, id: str) -> Envelope[KeyOut]:
    return _one(access, rights.visible_key(access.session, access.principal, id))


@router.patch("/{id}", summary="Update a key's name, scopes, resource, TTL or IP allowlist")
def update_key(access: KeysWrite, id: str, body: KeyUpdate) -> Envelope[KeyOut]:
    return _one(access, service.update_key(access.session, access.principal, id, body))


@router.delete("/{id}", summary="Revoke a key and all its secrets at once")
def revoke_key(access: KeysWrite, id: str) -> Envelope[KeyOut]:
    return _one(access, service.revoke_key(access.session, access.principal, id))


@router.post("/{id}/roll", summary="Roll to a new secret; the old one lives for `grace`")
def roll_key(access: KeysAction, id: str, body: KeyRoll | None = None) -> Envelope[KeyRolled]:
    grace = (body or KeyRoll()).grace
    rolled = rolling.roll(access.session, access.principal, id, grace)
    return Envelope(
        data=KeyRolled(
            id=rolled.key.id,
            secret=rolled.secret,
            prefix=presenters.shown(rolled.prefix),
            previous_prefix=presenters.shown(rolled.previous_prefix),
            previous_expires_at=rolled.previous_expires_at,
        )
    )
