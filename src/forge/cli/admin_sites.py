"""`forge admin sites …`: a site of a team, made by the operator. The same service and request
schema as `POST /v1/sites` (slug, name, a project of that team, a slug taken)."""

from __future__ import annotations

from typing import Annotated

import typer

from forge.cli.admin_teams import Json, Name, Slug, TeamId, say_created
from forge.cli.output import mode_or_exit, operator_database, request_body
from forge.keys.principal import operator_in
from forge.sites import service as sites
from forge.sites.schemas import SiteCreate, SiteOut
from forge.tenancy import service as tenancy

sites_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False)


@sites_app.command("create")
def sites_create(
    team: TeamId,
    mode: Annotated[str, typer.Option("--mode", help="test|live")],
    slug: Slug,
    name: Name = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Project id (default: the team's default)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Create a site in a team, in test or live mode."""
    body = request_body(SiteCreate, slug=slug, name=name, project=project)
    operator = operator_in(team, mode_or_exit(mode))
    with operator_database().session() as session:
        tenancy.get_team(session, operator, team)
        site = sites.create_site(session, operator, body)
        out = SiteOut.model_validate(site).model_dump(mode="json")
    say_created(out, as_json, f" in {team}, {mode} mode")
