"""Bodies of the secret routes under /v1/sites/{site}/environments/{env}/secrets."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, WithJsonSchema

from forge.schemas import RequestBody, Timestamp, Version
from forge.secrets import rules

Description = Annotated[str, StringConstraints(max_length=1000)]
# Names and values are checked by forge.secrets.rules, so that every 422 names its rule (the
# body size limit bounds them first); the schema declares the same rule.
KeyName = Annotated[str, WithJsonSchema(rules.NAME_SCHEMA)]
AppliesOn = Literal["next-deploy"]


class SecretValueSet(RequestBody):
    value: str = Field(description="The value; write-only, at most 64 KiB of UTF-8.")
    description: Description | None = None


class SecretDeclare(RequestBody):
    key: KeyName
    description: Description | None = None
    required: bool = Field(
        default=False, description="Deployments are refused while a required key has no value."
    )


class SecretPatch(RequestBody):
    description: Description | None = None
    required: bool | None = None


class SecretRestore(RequestBody):
    version: Version = Field(description="The version whose value becomes current again.")


class SecretImport(RequestBody):
    dotenv: str = Field(description="A dotenv document: NAME=value lines.")
    overwrite: bool = Field(default=False, description="Replace keys that already have a value.")


class Source(BaseModel):
    environment_id: str
    environment_name: str
    inherited: bool


class SecretOut(BaseModel):
    key: str
    description: str | None
    has_value: bool
    required: bool
    tombstone: bool = Field(description="Set here without a value, to stop an inherited key.")
    version: int | None = Field(description="The version in force; null without a value.")
    created_at: Timestamp
    created_by: str | None
    updated_at: Timestamp
    updated_by: str | None
    source: Source
    deployed: bool = Field(
        description="The environment's active deployment already runs this exact version."
    )
    applies_on: AppliesOn = "next-deploy"


class SecretVersionOut(BaseModel):
    version: int
    created_at: Timestamp
    created_by: str | None
    restored_from: int | None


class SecretDetail(SecretOut):
    versions: list[SecretVersionOut] = Field(
        description="This environment's versions, newest first."
    )


class SecretSetOut(BaseModel):
    """The answer to a PUT: the key, never the value."""

    key: str
    env_id: str
    updated_at: Timestamp
    applies_on: AppliesOn = "next-deploy"


class SecretDeleted(BaseModel):
    key: str
    env_id: str
    deleted: bool = True


class KeyComparison(BaseModel):
    key: str
    status: Literal["same", "different", "only_here", "only_there"]


class ComparisonOut(BaseModel):
    env_id: str
    with_env_id: str
    keys: list[KeyComparison]


class ImportOut(BaseModel):
    env_id: str
    set: list[str]
    kept: list[str]
    applies_on: AppliesOn = "next-deploy"
