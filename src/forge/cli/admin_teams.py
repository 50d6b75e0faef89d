"""`forge admin teams …` and `forge admin projects …`: what a team is made of, made by the
operator. The same services and request schemas as the API (slugs, names, a slug taken)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from forge.cli.output import console, emit_json, operator_database, request_body
from forge.keys.principal import operator_in
from forge.tenancy import service as tenancy
from forge.tenancy.schemas import ProjectCreate, ProjectOut, TeamCreate, TeamOut

teams_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)
projects_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)

Slug = Annotated[str, typer.Option("--slug", help="Lower-case letters, digits and dashes")]
Name = Annotated[str | None, typer.Option("--name", help="Shown to people (default: the slug)")]
TeamId = Annotated[str, typer.Option("--team", help="Team id")]
Json = Annotated[bool, typer.Option("--json", help="Print the API's object of it")]


def say_created(out: dict[str, Any], as_json: bool, where: str = "") -> None:
    """The created object as the API's `data` (--json), or one line for people."""
    if as_json:
        emit_json(out)
    else:
        console.print(f"{out['object']} {out['slug']} ({out['id']}) created{where}")


@teams_app.command("create")
def teams_create(slug: Slug, name: Name = None, as_json: Json = False) -> None:
    """Create a team (then `forge admin clients create` for its people)."""
    body = request_body(TeamCreate, slug=slug, name=name)
    with operator_database().session() as session:
        out = TeamOut.model_validate(tenancy.create_team(session, body)).model_dump(mode="json")
    say_created(out, as_json)


@projects_app.command("create")
def projects_create(team: TeamId, slug: Slug, name: Name = None, as_json: Json = False) -> None:
    """Create a project in a team."""
    body = request_body(ProjectCreate, slug=slug, name=name)
    operator = operator_in(team, "test")  # projects hold sites of both modes
    with operator_database().session() as session:
        tenancy.get_team(session, operator, team)
        project = tenancy.create_project(session, operator, body)
        out = ProjectOut.model_validate(project).model_dump(mode="json")
    say_created(out, as_json, f" in {team}")
