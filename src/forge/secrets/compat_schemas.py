"""Bodies of the team/site/env path secret routes, with that surface's own field names."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from forge.errors import ForgeError
from forge.http.errors import SERVER_ANSWERS, ErrorBody
from forge.schemas import RequestBody, Timestamp
from forge.secrets.schemas import Description, KeyName


class CompatSecretBody(RequestBody):
    """Create (POST) and update-description (PUT /{name}) take the same body."""

    kind: Literal["Secret", "secret"] = Field(description="Always `Secret`.")
    name: KeyName
    description: Description | None = None


class CompatValue(RequestBody):
    value: str = Field(description="The value; write-only, at most 64 KiB of UTF-8.")


class CompatSecret(BaseModel):
    name: str
    description: str | None
    hasValue: bool
    createdAt: Timestamp
    updatedAt: Timestamp


class CompatDeleted(BaseModel):
    deleted: Literal[True] = True
    name: str


class CompatError(BaseModel):
    error: str
    code: str | None = None


def compat_error(err: ForgeError) -> dict[str, Any]:
    """The team/site/env path surface's `Error` shape, for every error on those routes (the
    code is Forge's)."""
    return {"error": err.message, "code": err.code}


# `forge serve` answers 431, and 503 at its connection limit, before any route is matched: in
# the /v1 shape. A 503 from the database comes through the route: in this surface's shape.
SERVER_REFUSALS: dict[int, Any] = {431: ErrorBody, 503: CompatError | ErrorBody}
COMPAT_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": SERVER_REFUSALS.get(status, CompatError), "description": description}
    for status, description in (
        (400, "invalid_request"),
        (401, "authentication"),
        (403, "insufficient_scope (setting a value needs secrets:set-value: owners only)"),
        (404, "not_found"),
        (409, "conflict: the secret already exists"),
        (413, "payload_too_large"),
        (415, "unsupported_media_type"),
        (422, "validation_error, naming the rule"),
        (429, "rate_limited, with Retry-After"),
        (500, "internal"),
        *SERVER_ANSWERS,
    )
}
