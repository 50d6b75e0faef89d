"""Field types shared by every domain's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, StringConstraints

from forge.clock import rfc3339

Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ResourceId = Annotated[str, StringConstraints(pattern=r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$")]


class RequestBody(BaseModel):
    """Every request body refuses fields it does not know (a typo is a 422, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


class Deleted(BaseModel):
    id: str
    deleted: bool = True
