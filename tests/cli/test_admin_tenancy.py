"""`forge admin teams|projects|sites create`: the operator makes what a team is made of, through
the API's services and request schemas, and the API then serves exactly that."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from forge.db import Database
from forge.sites.models import Site
from forge.tenancy.models import Project, Team
from tests.assertions import data_of
from tests.cli.conftest import Forge
from tests.cli.test_admin import NO_TEAM, assert_one_line_failure
from tests.factories import World

NO_PROJECT = "proj_" + "0" * 26
BAD_SLUG = "--slug: String should match pattern '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'"


def count(database: Database, model: type[Team | Project | Site]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- teams ----------------------------------------------------------------------------------


def test_teams_create_makes_a_team_its_owner_key_then_sees(
    forge: Forge, world: World, api: TestClient
) -> None:
    out = forge.json("admin", "teams", "create", "--slug", "acme", "--name", "Acme Inc")
    assert (out["object"], out["slug"], out["name"]) == ("team", "acme", "Acme Inc")
    assert out["secret_value_roles"] == ["owner"]
    with world.database.session() as session:
        team = session.get_one(Team, out["id"])
    owner = world.owner_key(team)
    assert data_of(api.get(f"/v1/teams/{out['id']}", headers=owner.headers)) == out


def test_teams_create_names_a_team_after_its_slug_by_default(forge: Forge) -> None:
    result = forge("admin", "teams", "create", "--slug", "acme")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("team acme (team_") and result.stdout.endswith(") created\n")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--slug", "Not A Slug"), BAD_SLUG),
        (("--slug", "-acme"), BAD_SLUG),
        (("--slug", "acme", "--name", "a\tb"), "--name: String should match pattern"),
    ],
)
def test_teams_create_refuses_what_the_api_refuses(
    forge: Forge, database: Database, options: tuple[str, ...], message: str
) -> None:
    result = forge("admin", "teams", "create", *options)
    assert_one_line_failure(result, f"forge: validation_error: {message}")
    assert count(database, Team) == 0


def test_teams_create_refuses_a_slug_taken(forge: Forge, database: Database) -> None:
    assert forge("admin", "teams", "create", "--slug", "acme").exit_code == 0
    result = forge("admin", "teams", "create", "--slug", "acme", "--name", "Other")
    assert result.stderr == "forge: conflict: A team with slug 'acme' already exists.\n"
    assert result.exit_code == 2 and count(database, Team) == 1


# --- projects -------------------------------------------------------------------------------


def test_projects_create_makes_a_project_of_the_team(
    forge: Forge, world: World, api: TestClient
) -> None:
    team = world.team()
    out = forge.json("admin", "projects", "create", "--team", team.id, "--slug", "web")
    assert (out["object"], out["team_id"], out["slug"], out["name"]) == (
        "project",
        team.id,
        "web",
        "web",
    )
    owner = world.owner_key(team)
    assert data_of(api.get("/v1/projects", headers=owner.headers)) == [out]


def test_projects_create_refuses_an_unknown_team_a_bad_slug_and_a_slug_taken(
    forge: Forge, world: World, database: Database
) -> None:
    team = world.team()
    result = forge("admin", "projects", "create", "--team", NO_TEAM, "--slug", "web")
    assert result.stderr == f"forge: not_found: No team '{NO_TEAM}'.\n"
    result = forge("admin", "projects", "create", "--team", team.id, "--slug", "Web")
    assert_one_line_failure(result, f"forge: validation_error: {BAD_SLUG}")
    assert count(database, Project) == 0
    assert forge("admin", "projects", "create", "--team", team.id, "--slug", "web").exit_code == 0
    result = forge("admin", "projects", "create", "--team", team.id, "--slug", "web")
    assert result.stderr == "forge: conflict: A project with slug 'web' already exists.\n"
    assert count(database, Project) == 1


# --- sites ----------------------------------------------------------------------------------


def new_site(team_id: str, mode: str, slug: str, *options: str) -> tuple[str, ...]:
    return ("admin", "sites", "create", "--team", team_id, "--mode", mode, "--slug", slug, *options)


@pytest.mark.parametrize("mode", ["test", "live"])
def test_sites_create_makes_a_site_in_the_default_project_and_mode(
    forge: Forge, world: World, api: TestClient, mode: str
) -> None:
    team = world.team()
    out = forge.json(*new_site(team.id, mode, "shop", "--name", "The shop"))
    assert (out["object"], out["team_id"], out["slug"], out["name"], out["mode"]) == (
        "site",
        team.id,
        "shop",
        "The shop",
        mode,
    )
    owner = world.owner_key(team, mode=mode)
    assert data_of(api.get(f"/v1/sites/{out['id']}", headers=owner.headers)) == out
    default = data_of(api.get("/v1/projects", headers=owner.headers))
    assert [p["id"] for p in default] == [out["project_id"]]
    other_mode = world.owner_key(team, mode="live" if mode == "test" else "test")
    assert api.get(f"/v1/sites/{out['id']}", headers=other_mode.headers).status_code == 404


def test_sites_create_in_a_project_says_so_on_one_line(forge: Forge, world: World) -> None:
    team = world.team()
    project = world.project(team)
    result = forge(*new_site(team.id, "live", "shop", "--project", project.id))
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("site shop (site_") and line.endswith(
        f") created in {team.id}, live mode"
    )
    with world.database.session() as session:
        assert session.scalars(select(Site.project_id)).all() == [project.id]


def test_sites_create_refuses_what_the_api_refuses(
    forge: Forge, world: World, database: Database
) -> None:
    team, other = world.team(), world.team()
    foreign = world.project(other)
    refusals = {
        new_site(team.id, "prod", "shop"): "forge: --mode must be test or live",
        new_site(NO_TEAM, "test", "shop"): f"forge: not_found: No team '{NO_TEAM}'.",
        new_site(team.id, "test", "Shop"): f"forge: validation_error: {BAD_SLUG}",
        new_site(team.id, "test", "shop", "--project", "web"): (
            "forge: validation_error: --project: String should match pattern"
        ),
        new_site(team.id, "test", "shop", "--project", NO_PROJECT): (
            f"forge: not_found: No project '{NO_PROJECT}'."
        ),
        new_site(team.id, "test", "shop", "--project", foreign.id): (
            f"forge: not_found: No project '{foreign.id}'."
        ),
    }
    for args, message in refusals.items():
        assert_one_line_failure(forge(*args), message)
    assert count(database, Site) == 0
    assert forge(*new_site(team.id, "test", "shop")).exit_code == 0
    taken = forge(*new_site(team.id, "test", "shop"))
    assert taken.stderr == "forge: conflict: A site with slug 'shop' already exists.\n"
    assert count(database, Site) == 1
    assert forge(*new_site(team.id, "live", "shop")).exit_code == 0, "a slug is per mode"
