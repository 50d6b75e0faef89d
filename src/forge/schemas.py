"""Field types shared by every domain's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from forge.clock import rfc3339

Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ResourceId = Annotated[str, StringConstraints(pattern=r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$")]
Mode = Annotated[str, StringConstraints(pattern=r"^(live|test)$")]
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
