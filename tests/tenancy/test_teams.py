"""`GET /v1/teams/{team}`: a key sees its own team, and only when its constraint covers it."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.assertions import assert_error, data_of
from tests.factories import World


def test_another_team_is_404(api: TestClient, world: World) -> None:
    key = world.owner_key()
    other = world.team()
    assert_error(api.get(f"/v1/teams/{other.id}", headers=key.headers), 404, "not_found", "team")


def test_an_unknown_team_is_404(api: TestClient, world: World) -> None:
    key = world.owner_key()
    assert_error(api.get(f"/v1/teams/team_{'0' * 26}", headers=key.headers), 404, "not_found")


def test_a_team_cannot_be_named_by_its_slug(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    assert_error(api.get(f"/v1/teams/{team.slug}", headers=key.headers), 404, "not_found")


def test_the_keys_own_team(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    data = data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))
    assert data["id"] == team.id and data["slug"] == team.slug and data["object"] == "team"
    assert set(data) == {"id", "object", "slug", "name", "secret_value_roles", "created_at"}
    assert data["secret_value_roles"] == ["owner"]


def test_a_viewer_reads_its_team(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.key(team, world.member(team, "viewer"))
    assert data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))["id"] == team.id


def test_a_team_pinned_key_reads_it(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team, resource=("team", team.id))
    assert data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))["id"] == team.id


def test_keys_pinned_below_the_team_do_not_see_it(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    env = world.environment(site)
    project = world.project(team)
    for resource in (("project", project.id), ("site", site.id), ("environment", env.id)):
        key = world.owner_key(team, resource=resource)
        assert_error(api.get(f"/v1/teams/{team.id}", headers=key.headers), 404, "not_found")


def test_a_team_pinned_to_another_team_sees_nothing(api: TestClient, world: World) -> None:
    team, other = world.team(), world.team()
    key = world.owner_key(team, resource=("team", other.id))
    assert_error(api.get(f"/v1/teams/{team.id}", headers=key.headers), 404, "not_found")
    assert_error(api.get(f"/v1/teams/{other.id}", headers=key.headers), 404, "not_found")
