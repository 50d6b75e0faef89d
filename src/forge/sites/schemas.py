"""Bodies of the site and environment routes."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from forge.schemas import IPV4, IPV6, Name, RequestBody, ResourceId, Slug, Timestamp

EnvName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", max_length=63)
]
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"


# `_hostname`'s rule as the schema declares it: letters of either case, an optional final dot,
# spaces and tabs around (stripped; only those two, which a pattern can name).
_LABEL_ANY_CASE = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_PATTERN = (
    rf"^[ \t]*(?:{_LABEL_ANY_CASE}\.)+(?![0-9]+\.?[ \t]*$){_LABEL_ANY_CASE}\.?[ \t]*$"
)


def _hostname(value: str) -> str:
    """A DNS name of two labels or more; no IP literal (an all-numeric last label is none)."""
    host = value.strip(" \t").lower().removesuffix(".")  # ASCII only: "\u212a".lower() is "k"
    if (
        not value.isascii()
        or len(host) > 253
        or not re.fullmatch(rf"{_LABEL}(?:\.{_LABEL})+", host, re.ASCII)
    ):
        raise ValueError(f"{value!r} is not a valid hostname")
    if host.rsplit(".", 1)[-1].isdigit():
        raise ValueError(f"{value!r} is an IP address; hostnames are DNS names")
    return host


def _is_origin_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        _hostname(host)
    except ValueError:
        return False
    return True


_HOST_NAME = rf"(?:{_LABEL_ANY_CASE}\.)+(?![0-9]+\.?(?:[:/]|$)){_LABEL_ANY_CASE}\.?"
_PORT = (
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    "|[1-9][0-9]{0,3}|0))"
)
# `_origin_url`'s rule as the schema declares it, and checked first: `urlsplit` alone reads far
# more (spaces, backslashes, user info) than a pattern could say.
ORIGIN_URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_HOST_NAME}|[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|{IPV4}"
    rf"|\[{IPV6}\]){_PORT}?(?:/[\x21\x22\x24-\x3e\x40-\x7e]*)?$"
)
_ORIGIN_URL = re.compile(ORIGIN_URL_PATTERN)


def _origin_url(value: str) -> str:
    if not _ORIGIN_URL.fullmatch(value):
        raise ValueError(
            "must be an absolute http:// or https:// URL: a host name, localhost or an IP "
            "address, an optional port and path; no credentials, query or fragment"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if not _is_origin_host(parts.hostname):
        raise ValueError(f"{parts.hostname!r} is not a valid host")
    _ = parts.port  # raises ValueError for a port out of range
    if parts.username or parts.password:
        raise ValueError("must not carry credentials")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    return value


Hostname = Annotated[
    str,
    StringConstraints(max_length=253),
    AfterValidator(_hostname),
    Field(json_schema_extra={"pattern": HOSTNAME_PATTERN}),
]
OriginUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_origin_url),
    Field(json_schema_extra={"pattern": ORIGIN_URL_PATTERN}),
]
Hostnames = Annotated[list[Hostname], Field(max_length=100)]


class SiteCreate(RequestBody):
    slug: Slug
    name: Name | None = None
    project: ResourceId | None = Field(
        default=None, description="Project id; the team's default project when omitted."
    )


class SiteUpdate(RequestBody):
    slug: Slug | None = None
    name: Name | None = None


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    object: str = "site"
    team_id: str
    project_id: str
    slug: str
    name: str
    mode: str
    created_at: Timestamp
    updated_at: Timestamp


class EnvironmentCreate(RequestBody):
    name: EnvName
    parent: ResourceId | None = Field(default=None, description="An environment of this site.")
    hostnames: Hostnames = Field(default_factory=list)
    origin_url: OriginUrl | None = None


class EnvironmentUpdate(RequestBody):
    """Absent fields are left alone; `parent: null` and `origin_url: null` clear them."""

    name: EnvName | None = None
    parent: ResourceId | None = None
    hostnames: Hostnames | None = None
    origin_url: OriginUrl | None = None


class EnvironmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    object: str = "environment"
    site_id: str
    name: str
    mode: str
    parent_id: str | None
    hostnames: list[str]
    origin_url: str | None
    created_at: Timestamp
    updated_at: Timestamp
