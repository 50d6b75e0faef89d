from __future__ import annotations

from typing import ClassVar, Literal

from forge_sdk.models._base import ForgeModel


class SecretSource(ForgeModel):
    __schema__: ClassVar[str] = "Source"
    environment_id: str
    environment_name: str
    inherited: bool


class SecretVersion(ForgeModel):
    __schema__: ClassVar[str] = "SecretVersionOut"
    version: int
    created_at: str
    created_by: str | None
    restored_from: int | None


class Secret(ForgeModel):
    """A secret's metadata; its value is never readable."""

    __schema__: ClassVar[str] = "forge__secrets__schemas__SecretOut"
    key: str
    description: str | None
    has_value: bool
    required: bool
    tombstone: bool
    version: int | None
    created_at: str
    created_by: str | None
    updated_at: str
    updated_by: str | None
    source: SecretSource
    deployed: bool
    applies_on: str = "next-deploy"


class SecretDetail(Secret):
    __schema__: ClassVar[str] = "SecretDetail"
    versions: list[SecretVersion]


class SecretSet(ForgeModel):
    __schema__: ClassVar[str] = "SecretSetOut"
    key: str
    env_id: str
    updated_at: str
    applies_on: str = "next-deploy"


class SecretDeleted(ForgeModel):
    __schema__: ClassVar[str] = "SecretDeleted"
    key: str
    env_id: str
    deleted: bool = True


class ImportResult(ForgeModel):
    __schema__: ClassVar[str] = "ImportOut"
    env_id: str
    set: list[str]
    kept: list[str]
    applies_on: str = "next-deploy"


class KeyComparison(ForgeModel):
    __schema__: ClassVar[str] = "KeyComparison"
    key: str
    status: Literal["same", "different", "only_here", "only_there"]


class Comparison(ForgeModel):
    __schema__: ClassVar[str] = "ComparisonOut"
    env_id: str
    with_env_id: str
    keys: list[KeyComparison]


class DeployedSecret(ForgeModel):
    __schema__: ClassVar[str] = "DeployedSecret"
    key: str
    version: int
    source_environment_id: str


class Deployment(ForgeModel):
    __schema__: ClassVar[str] = "DeploymentOut"
    id: str
    env_id: str
    origin_url: str | None
    created_at: str
    created_by: str | None
    active: bool
    secrets: list[DeployedSecret]
