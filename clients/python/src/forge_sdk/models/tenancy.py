from __future__ import annotations

from typing import ClassVar

from forge_sdk.models._base import ForgeModel


class Site(ForgeModel):
    __schema__: ClassVar[str] = "SiteOut"
    id: str
    object: str = "site"
    team_id: str
    project_id: str
    slug: str
    name: str
    mode: str
    created_at: str
    updated_at: str


class Environment(ForgeModel):
    __schema__: ClassVar[str] = "EnvironmentOut"
    id: str
    object: str = "environment"
    site_id: str
    name: str
    mode: str
    parent_id: str | None
    hostnames: list[str]
    origin_url: str | None
    created_at: str
    updated_at: str


class Team(ForgeModel):
    __schema__: ClassVar[str] = "TeamOut"
    id: str
    object: str = "team"
    slug: str
    name: str
    secret_value_roles: list[str] = []
    created_at: str


class Project(ForgeModel):
    __schema__: ClassVar[str] = "ProjectOut"
    id: str
    object: str = "project"
    team_id: str
    slug: str
    name: str
    created_at: str


class Deleted(ForgeModel):
    __schema__: ClassVar[str] = "Deleted"
    id: str
    deleted: bool = True
