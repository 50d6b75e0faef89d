"""API keys and rate-limit budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from forge_sdk._endpoints import Call, M, Resource, one, paged
from forge_sdk.resources._common import NOT_GIVEN, fields, present

if TYPE_CHECKING:
    from forge_sdk.models import ApiKey, CreatedKey, KeySelf, RolledKey
    from forge_sdk.models import RateLimits as Budgets

KEY = "/v1/api-keys/{id}"


class Keys(Resource[M]):
    @paged("/v1/api-keys", "ApiKey")
    def list(
        self,
        *,
        owner: str | None = None,
        mode: str | None = None,
        revoked: bool | None = None,
        expiring_before: str | None = None,
        limit: int | None = None,
    ) -> Call[ApiKey]:
        """The keys you can see (metadata, never a secret), newest first."""
        query = present(
            owner=owner, mode=mode, revoked=revoked, expiring_before=expiring_before, limit=limit
        )
        return Call(params=query)

    @one("POST", "/v1/api-keys", "CreatedKey")
    def create(
        self,
        name: str,
        scopes: Sequence[str] | str,
        *,
        resource: dict[str, str] | None = None,
        expires_in: str | None = None,
        ip_allowlist: Sequence[str] | None = None,
        owner: str | None = None,
        idempotency_key: str | None = None,
    ) -> Call[CreatedKey]:
        """Mint a key; `.secret` holds its secret, shown this once (a retry replays without it)."""
        body = present(
            name=name,
            scopes=scopes if isinstance(scopes, str) else list(scopes),
            resource=resource,
            expires_in=expires_in,
            ip_allowlist=None if ip_allowlist is None else list(ip_allowlist),
            owner=owner,
        )
        return Call(body=body, idempotency_key=idempotency_key)

    @one("GET", KEY, "ApiKey")
    def get(self, id: str) -> Call[ApiKey]:
        return Call(path={"id": id})

    @one("PATCH", KEY, "ApiKey")
    def update(
        self,
        id: str,
        *,
        name: Any = NOT_GIVEN,
        scopes: Any = NOT_GIVEN,
        resource: Any = NOT_GIVEN,
        expires_in: Any = NOT_GIVEN,
        ip_allowlist: Any = NOT_GIVEN,
    ) -> Call[ApiKey]:
        """Change only the fields given; `resource=None` unpins, `ip_allowlist=[]` clears."""
        body = fields(
            name=name,
            scopes=scopes,
            resource=resource,
            expires_in=expires_in,
            ip_allowlist=ip_allowlist,
        )
        return Call(path={"id": id}, body=body)

    @one("DELETE", KEY, "ApiKey")
    def revoke(self, id: str) -> Call[ApiKey]:
        """Revoke the key and every secret of it, at once."""
        return Call(path={"id": id})

    @one("POST", KEY + "/roll", "RolledKey")
    def roll(
        self, id: str, *, grace: str | None = None, idempotency_key: str | None = None
    ) -> Call[RolledKey]:
        """A new secret; the old one keeps working for `grace` (default 24h, `0s` cuts it)."""
        return Call(path={"id": id}, body=present(grace=grace), idempotency_key=idempotency_key)

    @one("GET", "/v1/api-keys/self", "KeySelf")
    def self(this) -> Call[KeySelf]:
        """The calling key: its owner, scopes, pin and budgets (spends no rate limit)."""
        return Call()


class RateLimits(Resource[M]):
    @one("GET", "/v1/rate-limits", "RateLimits")
    def get(self) -> Call[Budgets]:
        """Every bucket of the calling key, without spending any."""
        return Call()
