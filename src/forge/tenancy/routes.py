"""HTTP routes for teams and projects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter

from forge.http.auth import Access, Scoped, resolves
from forge.http.envelope import Envelope, ListEnvelope, Page, paginate
from forge.http.routing import ForgeRoute
from forge.tenancy import service
from forge.tenancy.models import Project
from forge.tenancy.schemas import ProjectCreate, ProjectOut, TeamOut, TeamUpdate


@resolves("team", session=True)
def _team_resolver(access: Access, params: Mapping[str, str]) -> None:
    access.team = service.get_team(access.session, access.principal, params["team"])


router = APIRouter(tags=["teams"], route_class=ForgeRoute)

TeamRead = Annotated[Access, Scoped("teams:read", _team_resolver)]
TeamWrite = Annotated[Access, Scoped("teams:write", _team_resolver)]
ProjectsRead = Annotated[Access, Scoped("projects:read")]
ProjectsWrite = Annotated[Access, Scoped("projects:write")]


@router.get("/v1/teams/{team}", summary="Get a team")
def get_team(access: TeamRead) -> Envelope[TeamOut]:
    return Envelope(data=TeamOut.model_validate(access.team))


@router.patch("/v1/teams/{team}", summary="Change a team's settings (owners only)")
def update_team(access: TeamWrite, body: TeamUpdate) -> Envelope[TeamOut]:
    team = service.set_secret_value_roles(
        access.principal, access.team, list(body.secret_value_roles)
    )
    access.session.flush()
    return Envelope(data=TeamOut.model_validate(team))


@router.get("/v1/projects", summary="List projects")
def list_projects(access: ProjectsRead, page: Page) -> ListEnvelope[ProjectOut]:
    stmt = service.visible_projects(access.principal)
    rows, has_more = paginate(access.session, stmt, Project.id, page)
    return ListEnvelope(data=[ProjectOut.model_validate(r) for r in rows], has_more=has_more)


@router.post("/v1/projects", status_code=201, summary="Create a project")
def create_project(access: ProjectsWrite, body: ProjectCreate) -> Envelope[ProjectOut]:
    project = service.create_project(access.session, access.principal, body)
    return Envelope(data=ProjectOut.model_validate(project))
