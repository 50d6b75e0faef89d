"""Bodies of the deployment routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from forge.schemas import Timestamp


class DeployedSecret(BaseModel):
    key: str
    version: int
    source_environment_id: str


class DeploymentOut(BaseModel):
    id: str
    env_id: str
    origin_url: str | None
    created_at: Timestamp
    created_by: str | None
    active: bool = Field(description="The newest deployment of its environment: what runs now.")
    secrets: list[DeployedSecret] = Field(description="The secret versions it runs (no values).")
