from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from forge_sdk.models._base import ForgeModel


class Owner(ForgeModel):
    __schema__: ClassVar[str] = "Owner"
    type: Literal["client", "team"]
    id: str


class KeySecret(ForgeModel):
    __schema__: ClassVar[str] = "forge__keys__schemas__SecretOut"
    prefix: str
    status: Literal["current", "previous", "ended"]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    last_used_ip: str | None


class ApiKey(ForgeModel):
    __schema__: ClassVar[str] = "KeyOut"
    id: str
    object: str = "api_key"
    name: str
    family: str
    mode: str
    owner: Owner
    prefix: str
    scopes: list[str]
    resource: dict[str, str] | None
    ip_allowlist: list[str]
    expires_at: str
    revoked_at: str | None
    created_by: str
    created_at: str
    updated_at: str
    secrets: list[KeySecret]


class CreatedKey(ForgeModel):
    """A new key. `secret` is present only in the first answer, never in a replay."""

    __schema__: ClassVar[str] = "KeyCreated"
    id: str
    name: str
    secret: str | None = Field(default=None, repr=False)
    prefix: str
    scopes: list[str]
    resource: dict[str, str] | None
    expires_at: str
    created_at: str


class RolledKey(ForgeModel):
    __schema__: ClassVar[str] = "KeyRolled"
    id: str
    secret: str | None = Field(default=None, repr=False)
    prefix: str
    previous_prefix: str
    previous_expires_at: str


class Bucket(ForgeModel):
    __schema__: ClassVar[str] = "BucketOut"
    kind: str
    limit: int
    remaining: int
    reset: int


class RateLimits(ForgeModel):
    __schema__: ClassVar[str] = "RateLimitsOut"
    buckets: list[Bucket]


class KeySelf(ForgeModel):
    __schema__: ClassVar[str] = "KeySelf"
    id: str
    object: str = "api_key"
    name: str
    family: str
    mode: str
    owner: Owner
    prefix: str
    scopes: list[str]
    effective_scopes: list[str]
    resource: dict[str, str] | None
    ip_allowlist: list[str]
    expires_at: str
    previous_prefix: str | None
    previous_expires_at: str | None
    budgets: list[Bucket]


class AuditEvent(ForgeModel):
    __schema__: ClassVar[str] = "AuditEventOut"
    id: str
    object: str = "audit_event"
    action: str
    mode: str | None
    actor_type: str
    actor_id: str | None
    key_id: str | None
    key_prefix: str | None
    resource_type: str | None
    resource_id: str | None
    data: dict[str, Any]
    created_at: str
