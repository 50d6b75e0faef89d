"""Field types shared by every domain's request and response bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from forge.clock import rfc3339

Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
]
# No control characters (NUL, TAB, CR, ESC…): a name is shown in terminals, logs and tables.
# Surrounding whitespace is stripped (Unicode White_Space), so the pattern, which the schema
# shows as it is, asks for one character besides: a name of spaces alone is refused by both.
_WHITE_SPACE = r"\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_NAME_CHAR = r"[^\x00-\x1f\x7f]"
Name = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=200,
        strip_whitespace=True,
        pattern=rf"^{_NAME_CHAR}*[^\x00-\x1f\x7f{_WHITE_SPACE}]{_NAME_CHAR}*$",
    ),
]
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339_text(value: object) -> object:
    """Only an RFC 3339 date-time with its offset: pydantic alone also reads 0.5 and
    99999999999 as Unix times (seconds or milliseconds, by size)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-06-01T00:00:00Z")
    return value


# IP addresses as patterns a schema can declare (RFC 3986's grammar, RFC 4291 §2.2 for IPv6):
# exactly the texts `ipaddress` reads, but leading zeros in an IPv4 octet, which it refuses.
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{IPV4})"
IPV6 = (
    "(?:"
    + "|".join(
        [
            f"(?:{_H16}:){{6}}{_LS32}",
            f"::(?:{_H16}:){{5}}{_LS32}",
            f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        ]
    )
    + ")"
)


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
ResourceId = Annotated[str, StringConstraints(pattern=r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$")]
# Every integer a request carries has both bounds in its schema: stored counters are 32-bit
# INTEGER columns, and a larger number must be a 422, never a driver overflow (a 500).
MAX_INT32 = 2**31 - 1
Version = Annotated[int, Field(ge=1, le=MAX_INT32)]


class RequestBody(BaseModel):
    """Every request body refuses fields it does not know (a typo is a 422, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


class Deleted(BaseModel):
    id: str
    deleted: bool = True
