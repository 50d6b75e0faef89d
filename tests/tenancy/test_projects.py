"""`GET/POST /v1/projects`: a team's projects, slugs unique in the team."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_error, data_of
from tests.factories import World


def test_a_duplicate_slug_is_409(api: TestClient, world: World) -> None:
    key = world.owner_key()
    data_of(api.post("/v1/projects", headers=key.headers, json={"slug": "web"}), 201)
    response = api.post("/v1/projects", headers=key.headers, json={"slug": "web"})
    assert_error(response, 409, "conflict", param="slug")


def test_the_default_slug_is_taken_once_the_default_project_exists(
    api: TestClient, world: World
) -> None:
    team = world.team()
    key = world.owner_key(team)
    world.site(team)  # makes the default project
    response = api.post("/v1/projects", headers=key.headers, json={"slug": "default"})
    assert_error(response, 409, "conflict", param="slug")


@pytest.mark.parametrize("body", [{}, {"slug": "Web"}, {"slug": "web", "team": "team_x"}])
def test_bad_bodies_are_422(api: TestClient, world: World, body: dict[str, str]) -> None:
    key = world.owner_key()
    response = api.post("/v1/projects", headers=key.headers, json=body)
    error = assert_error(response, 422, "validation_error")
    assert error["param"] in ("slug", "team")


def test_a_viewer_cannot_create_a_project(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.key(team, world.member(team, "viewer"))
    response = api.post("/v1/projects", headers=key.headers, json={"slug": "web"})
    assert_error(response, 403, "insufficient_scope")


def test_a_key_pinned_below_the_team_cannot_create_projects(api: TestClient, world: World) -> None:
    team = world.team()
    project = world.project(team)
    key = world.owner_key(team, resource=("project", project.id))
    response = api.post("/v1/projects", headers=key.headers, json={"slug": "web"})
    assert_error(response, 403, "forbidden")
    owner = world.owner_key(team)
    slugs = [p["slug"] for p in api.get("/v1/projects", headers=owner.headers).json()["data"]]
    assert slugs == [project.slug]


def test_create_and_list(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    made = data_of(api.post("/v1/projects", headers=key.headers, json={"slug": "web"}), 201)
    assert made["slug"] == "web" and made["name"] == "web" and made["team_id"] == team.id
    assert made["object"] == "project" and made["id"].startswith("proj_")
    named = data_of(
        api.post("/v1/projects", headers=key.headers, json={"slug": "api", "name": "API"}), 201
    )
    listed = api.get("/v1/projects", headers=key.headers).json()["data"]
    assert [p["id"] for p in listed] == [named["id"], made["id"]]


def test_projects_of_other_teams_are_not_listed(api: TestClient, world: World) -> None:
    world.project(world.team())
    key = world.owner_key()
    assert api.get("/v1/projects", headers=key.headers).json()["data"] == []


def test_another_team_may_reuse_a_slug(api: TestClient, world: World) -> None:
    for _ in range(2):
        key = world.owner_key()
        data_of(api.post("/v1/projects", headers=key.headers, json={"slug": "web"}), 201)
