"""List pagination: `limit` (1–100, default 20), the `starting_after` cursor and `has_more`."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from forge.tenancy.models import Team
from tests.assertions import assert_error, data_of
from tests.factories import Key, World


def _make_sites(world: World, team: Team, count: int) -> list[str]:
    return [world.site(team).id for _ in range(count)]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_a_limit_outside_1_to_100_is_refused_naming_limit(
    api: TestClient, key: Key, limit: str
) -> None:
    response = api.get(f"/v1/sites?limit={limit}", headers=key.headers)
    assert_error(response, 422, "validation_error", param="limit")


def test_an_over_long_cursor_is_refused_naming_it(api: TestClient, key: Key) -> None:
    response = api.get("/v1/sites", params={"starting_after": "x" * 65}, headers=key.headers)
    assert_error(response, 422, "validation_error", param="starting_after")


def test_an_empty_list(api: TestClient, key: Key) -> None:
    body = api.get("/v1/sites", headers=key.headers).json()
    assert body["data"] == [] and body["has_more"] is False


def test_the_default_page_is_20(api: TestClient, world: World, team: Team, key: Key) -> None:
    _make_sites(world, team, 21)
    body = api.get("/v1/sites", headers=key.headers).json()
    assert len(body["data"]) == 20 and body["has_more"] is True


def test_exactly_limit_items_has_no_more(
    api: TestClient, world: World, team: Team, key: Key
) -> None:
    _make_sites(world, team, 3)
    body = api.get("/v1/sites?limit=3", headers=key.headers).json()
    assert len(body["data"]) == 3 and body["has_more"] is False


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(
    api: TestClient, world: World, team: Team, key: Key, limit: int
) -> None:
    _make_sites(world, team, 2)
    body = api.get(f"/v1/sites?limit={limit}", headers=key.headers).json()
    assert len(body["data"]) == min(limit, 2)
    assert body["has_more"] is (limit == 1)


def test_walking_pages_sees_every_item_once_newest_first(
    api: TestClient, world: World, team: Team, key: Key
) -> None:
    made = _make_sites(world, team, 7)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["starting_after"] = cursor
        body = api.get("/v1/sites", params=params, headers=key.headers).json()
        seen += [s["id"] for s in body["data"]]
        pages += 1
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert pages == 3
    assert seen == sorted(made, reverse=True)


def test_a_cursor_past_the_end_gives_an_empty_page(
    api: TestClient, world: World, team: Team, key: Key
) -> None:
    oldest = _make_sites(world, team, 2)[0]
    body = api.get("/v1/sites", params={"starting_after": oldest}, headers=key.headers).json()
    assert body == {"data": [], "has_more": False, "request_id": body["request_id"]}


def test_projects_and_environments_paginate_the_same_way(
    api: TestClient, world: World, team: Team, key: Key
) -> None:
    site = world.site(team)
    for _ in range(3):
        world.environment(site)
        world.project(team)
    envs = api.get(f"/v1/sites/{site.id}/environments?limit=2", headers=key.headers)
    assert len(data_of(envs)) == 2 and envs.json()["has_more"] is True
    projects = api.get("/v1/projects?limit=3", headers=key.headers).json()
    assert len(projects["data"]) == 3 and projects["has_more"] is True  # 3 + the default
    assert_error(
        api.get(f"/v1/sites/{site.id}/environments?limit=0", headers=key.headers),
        422,
        "validation_error",
        param="limit",
    )
