"""Bodies of the team and project routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forge.schemas import Name, RequestBody, Slug, Timestamp


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    object: str = "team"
    slug: str
    name: str
    secret_value_roles: list[str] = Field(
        description="The roles whose keys may set secret values (by any route)."
    )
    created_at: Timestamp

    @field_validator("secret_value_roles", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value


ValueSetterRole = Literal["owner", "admin", "member"]


class TeamUpdate(RequestBody):
    secret_value_roles: Annotated[
        list[ValueSetterRole],
        Field(
            min_length=1,
            max_length=3,
            description="Which roles may set secret values; must include owner.",
            json_schema_extra={"contains": {"const": "owner"}},
        ),
    ]


class TeamCreate(RequestBody):
    """A team, made by the operator alone (`forge admin teams create`): no API route makes one."""

    slug: Slug
    name: Name | None = None


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
