"""Bodies of the team and project routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from forge.schemas import Name, RequestBody, Slug, Timestamp


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    object: str = "team"
    slug: str
    name: str
    created_at: Timestamp


class ProjectCreate(RequestBody):
    slug: Slug
    name: Name | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    object: str = "project"
    team_id: str
    slug: str
    name: str
    created_at: Timestamp
