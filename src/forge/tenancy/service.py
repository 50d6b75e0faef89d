"""Teams, clients, memberships and projects: the rules, no HTTP."""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.db import unique_guard
from forge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from forge.keys.scopes import ROLES, VALUE_SETTER_ROLES
from forge.principal import Principal
from forge.tenancy.models import Client, Membership, Project, Team
from forge.tenancy.schemas import ProjectCreate, TeamCreate

DEFAULT_PROJECT_SLUG = "default"


def get_team(session: Session, principal: Principal, team_id: str) -> Team:
    team = session.get(Team, team_id)
    if team is None or not principal.covers(team_id=team.id):
        raise NotFound(f"No team {team_id!r}.", param="team")
    return team


def set_secret_value_roles(principal: Principal, team: Team, roles: list[str]) -> Team:
    """Who may set secret values is the owners' decision alone; owners always keep the right."""
    if principal.role != "owner":
        raise Forbidden(
            "Only a team owner may change who sets secret values.", param="secret_value_roles"
        )
    if "owner" not in roles:
        raise ValidationFailed(
            "secret_value_roles: owners always keep the right; include owner.",
            param="secret_value_roles",
        )
    team.secret_value_roles = ",".join(r for r in VALUE_SETTER_ROLES if r in roles)
    return team


def create_team(session: Session, body: TeamCreate) -> Team:
    team = Team(slug=body.slug, name=body.name or body.slug)
    with unique_guard(session, f"A team with slug {body.slug!r} already exists.", "slug"):
        session.add(team)
    return team


def valid_email(email: str) -> str:
    """The address as stored (its domain lower-cased and in Unicode form), or ValidationFailed
    saying what is wrong with it. Syntax only: no DNS look-up."""
    # email-validator brings dnspython, about 0.2 s to import; only adding a person needs it.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValidationFailed(
            f"email {email!r} is not an email address: {err}", param="email"
        ) from None


def create_client(session: Session, team_id: str, email: str, role: str, name: str = "") -> Client:
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}.", param="role")
    email = valid_email(email)
    if session.get(Team, team_id) is None:
        raise NotFound(f"No team {team_id!r}.", param="team")
    client = session.scalar(select(Client).where(Client.email == email))
    if client is None:
        client = Client(email=email, name=name)
        session.add(client)
        session.flush()
    elif session.get(Membership, (team_id, client.id)) is not None:
        raise Conflict(f"{email} is already a member of this team.", param="email")
    session.add(Membership(team_id=team_id, client_id=client.id, role=role))
    session.flush()
    return client


def deactivate_client(session: Session, client_id: str) -> Client:
    """Every personal key of the client stops on its next request (rights are checked live)."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"No client {client_id!r}.", param="client")
    client.active = False
    client.deactivated_at = utcnow()
    return client


def visible_projects(principal: Principal) -> Select[Project]:
    stmt = select(Project).where(Project.team_id == principal.team_id)
    constraint = principal.constraint
    if constraint is None or constraint.type == "team":
        return stmt
    if constraint.type == "project":
        return stmt.where(Project.id == constraint.id)
    return stmt.where(false())


def _find_default_project(session: Session, team_id: str) -> Project | None:
    return session.scalar(
        select(Project).where(Project.team_id == team_id, Project.slug == DEFAULT_PROJECT_SLUG)
    )


def default_project(session: Session, team_id: str) -> Project:
    """The team's default project, made on first use. Two requests making it at once both
    get the one that won the unique (team, slug) race."""
    project = _find_default_project(session, team_id)
    if project is not None:
        return project
    try:
        with session.begin_nested():
            project = Project(team_id=team_id, slug=DEFAULT_PROJECT_SLUG, name="Default")
            session.add(project)
    except IntegrityError:
        project = _find_default_project(session, team_id)
        assert project is not None
    return project


def get_project(session: Session, principal: Principal, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None or not principal.covers(team_id=project.team_id, project_id=project.id):
        raise NotFound(f"No project {project_id!r}.", param="project")
    return project


def create_project(session: Session, principal: Principal, body: ProjectCreate) -> Project:
    if not principal.covers(team_id=principal.team_id):
        raise Forbidden("This key is pinned below the team and cannot create projects.")
    project = Project(team_id=principal.team_id, slug=body.slug, name=body.name or body.slug)
    with unique_guard(session, f"A project with slug {body.slug!r} already exists.", "slug"):
        session.add(project)
    return project
