"""Bodies of the API-key routes. A secret appears only in `KeyCreated` and `KeyRolled`."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from forge.keys import durations
from forge.keys import scopes as catalogue
from forge.ratelimit.schemas import BucketOut
from forge.schemas import IPV4, IPV6, Name, RequestBody, ResourceId, Timestamp


def _invalid(message: str) -> PydanticCustomError:
    """A field error whose message reads plainly (no "Value error, " in front)."""
    return PydanticCustomError("invalid", message)


# What a key can be pinned to, as written in bodies, and the constraint type it is stored as.
PIN_TYPES = {"team": "team", "project": "project", "site": "site", "env": "environment"}
PIN_NAMES = {stored: name for name, stored in PIN_TYPES.items()}


def _duration(value: object, check: Callable[[timedelta], timedelta]) -> timedelta:
    if not isinstance(value, str):
        raise _invalid("must be a duration string such as 90d, 12h, 30m, 45s, 2w or 1y")
    try:
        return check(durations.parse(value))
    except ValueError as err:
        raise _invalid(str(err)) from None


def _ttl(value: object) -> timedelta:
    return _duration(value, durations.check_ttl)


def _grace(value: object) -> timedelta:
    return _duration(value, durations.check_grace)


def _scopes(requested: object) -> list[str]:
    if isinstance(requested, list) and not all(isinstance(s, str) for s in requested):
        raise _invalid("must be a list of scopes or a preset name")
    if not isinstance(requested, list | str):
        raise _invalid("must be a list of scopes or a preset name")
    if not requested:
        raise _invalid("name at least one scope, or a preset")
    if isinstance(requested, list) and len(requested) > len(catalogue.ALL_SCOPES):
        raise _invalid("too many scopes")
    try:
        return catalogue.expand(requested)
    except ValueError as err:
        raise _invalid(str(err)) from None


# CIDR notation, as the schema declares it: an address, optionally with a prefix length
# (RFC 4632, RFC 4291 §2.3). Checked before
# `ip_network`, which also reads netmasks ("/255.255.255.0") and surrounding spaces, so that a
# schema-valid entry is accepted and an accepted one is schema-valid.
CIDR_PATTERN = (
    f"^(?:{IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?|{IPV6}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
)
_CIDR = re.compile(CIDR_PATTERN)


def _cidrs(values: list[str]) -> list[str]:
    networks = []
    for value in values:
        if not _CIDR.fullmatch(value):
            raise _invalid(f"{value!r} is not an IPv4 or IPv6 CIDR (address or address/length)")
        networks.append(str(ipaddress.ip_network(value, strict=False)))
    return list(dict.fromkeys(networks))


# The bounds apply after conversion; the schemas' patterns spell them out in every unit.
Ttl = Annotated[
    timedelta,
    BeforeValidator(_ttl),
    WithJsonSchema(
        {
            **durations.schema(durations.MAX_TTL, zero=False),
            "examples": ["90d"],
            "description": "More than 0s, at most 1y (366d): 90d, 12h, 30m, 45s, 2w or 1y.",
        }
    ),
]
Grace = Annotated[
    timedelta,
    BeforeValidator(_grace),
    WithJsonSchema(
        {
            **durations.schema(durations.MAX_GRACE, zero=True),
            "examples": ["24h"],
            "description": "0s to 7d: 24h, 30m, 2d…",
        }
    ),
]
Scopes = Annotated[
    list[str],
    BeforeValidator(_scopes),
    WithJsonSchema(
        {
            "oneOf": [
                {
                    "type": "array",
                    "items": {"type": "string", "enum": sorted(catalogue.ALL_SCOPES)},
                    "minItems": 1,
                    "maxItems": len(catalogue.ALL_SCOPES),
                },
                {"type": "string", "enum": list(catalogue.PRESETS)},
            ],
            "description": "Scopes (`resource:action`) or one preset name: "
            + ", ".join(catalogue.PRESETS),
            "examples": [["sites:read", "deployments:write"], "deploy"],
        }
    ),
]
IpAllowlist = Annotated[
    list[Annotated[str, Field(max_length=49, json_schema_extra={"pattern": CIDR_PATTERN})]],
    Field(max_length=100, examples=[["203.0.113.0/24", "2001:db8::/32"]]),
    AfterValidator(_cidrs),
]


def _exactly_one_id(schema: dict[str, Any]) -> None:
    """As `_exactly_one` checks it: one property, an id, never null."""
    for field in schema["properties"].values():
        field.update(next(option for option in field.pop("anyOf") if option["type"] != "null"))
    schema.update(minProperties=1, maxProperties=1)


class Pin(RequestBody):
    """Exactly one of these: the key then acts only on that resource and what lies beneath it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_id)

    team: ResourceId | None = None
    project: ResourceId | None = None
    site: ResourceId | None = None
    env: ResourceId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Pin:
        if len(self.model_fields_set) != 1 or None in self.model_dump(exclude_unset=True).values():
            raise _invalid("name exactly one of team, project, site or env")
        return self

    def as_constraint(self) -> tuple[str, str]:
        (name, value) = next(iter(self.model_dump(exclude_unset=True).items()))
        return PIN_TYPES[name], value


class KeyCreate(RequestBody):
    name: Name
    scopes: Scopes
    resource: Pin | None = None
    expires_in: Ttl = Field(
        default=durations.DEFAULT_TTL,
        json_schema_extra={"default": durations.written(durations.DEFAULT_TTL)},
    )
    ip_allowlist: IpAllowlist = Field(default_factory=list)
    owner: Literal["client", "team"] = Field(
        default="client",
        description="`client`: a personal key (mfk_) of the caller; `team`: a service token "
        "(mfs_) of the caller's team, which only a team owner may mint.",
    )


class KeyUpdate(RequestBody):
    """Absent fields are left alone; `resource: null` unpins, `ip_allowlist: []` clears."""

    name: Name | None = None
    scopes: Scopes | None = None
    resource: Pin | None = None
    expires_in: Ttl | None = Field(default=None, description="A new lifetime, counted from now.")
    ip_allowlist: IpAllowlist | None = None


class KeyRoll(RequestBody):
    grace: Grace = Field(
        default=durations.DEFAULT_GRACE,
        description="How long the old secret keeps working: 0s to 7d.",
        json_schema_extra={"default": durations.written(durations.DEFAULT_GRACE)},
    )


Resource = dict[str, str] | None


# A replay answers the stored body, which never holds the secret (forge.idempotency.service).
SHOWN_ONCE = (
    "The key's secret, shown in this answer only. Absent from an idempotent replay "
    "(`Idempotent-Replayed: true`): it is never stored, so a retry never reveals it again; if "
    "the first answer was lost, roll the key."
)


def _absent_on_replay(schema: dict[str, Any]) -> None:
    schema["required"] = [name for name in schema["required"] if name != "secret"]


class KeyCreated(BaseModel):
    """The created key; `secret` is shown this once, and never again."""

    model_config = ConfigDict(json_schema_extra=_absent_on_replay)

    id: str
    name: str
    secret: str = Field(description=SHOWN_ONCE)
    prefix: str
    scopes: list[str]
    resource: Resource
    expires_at: Timestamp
    created_at: Timestamp


class KeyRolled(BaseModel):
    model_config = ConfigDict(json_schema_extra=_absent_on_replay)

    id: str
    secret: str = Field(description=SHOWN_ONCE)
    prefix: str
    previous_prefix: str
    previous_expires_at: Timestamp


class Owner(BaseModel):
    type: Literal["client", "team"]
    id: str


class SecretOut(BaseModel):
    prefix: str
    status: Literal["current", "previous", "ended"]
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None
    last_used_ip: str | None


class KeyOut(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    name: str
    family: str
    mode: str
    owner: Owner
    prefix: str
    scopes: list[str]
    resource: Resource
    ip_allowlist: list[str]
    expires_at: Timestamp
    revoked_at: Timestamp | None
    created_by: str
    created_at: Timestamp
    updated_at: Timestamp
    secrets: list[SecretOut]


class KeySelf(BaseModel):
    id: str
    object: Literal["api_key"] = "api_key"
    name: str
    family: str
    mode: str
    owner: Owner
    prefix: str
    scopes: list[str]
    effective_scopes: list[str] = Field(
        description="scopes ∩ what the owner may do right now (the key's constraint aside)"
    )
    resource: Resource
    ip_allowlist: list[str]
    expires_at: Timestamp
    previous_prefix: str | None = Field(description="An older secret still in its grace window")
    previous_expires_at: Timestamp | None
    budgets: list[BucketOut] = Field(
        description="The key's rate-limit buckets now, as `GET /v1/rate-limits` reports them"
    )
