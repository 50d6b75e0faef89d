"""Sites: create (key's mode, default project), read, update, delete, and every refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from forge.db import Database
from forge.sites.models import Environment, EnvironmentHostname, Site
from forge.tenancy.models import Team
from tests.assertions import assert_error, data_of
from tests.factories import Key, World


def _create(api: TestClient, key: Key, **body: object) -> dict[str, object]:
    created: dict[str, object] = data_of(api.post("/v1/sites", headers=key.headers, json=body), 201)
    return created


@pytest.mark.parametrize(
    "slug",
    ["", "UPPER", "-lead", "trail-", "under_score", "a b", "é", "a" * 64, "a.b", " spaced "],
)
def test_a_bad_slug_is_422_naming_slug(api: TestClient, key: Key, slug: str) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"slug": slug})
    assert_error(response, 422, "validation_error", param="slug")


def test_a_taken_slug_is_409(api: TestClient, key: Key) -> None:
    _create(api, key, slug="shop")
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "shop"})
    error = assert_error(response, 409, "conflict", param="slug")
    assert "shop" in error["message"]
    assert len(api.get("/v1/sites", headers=key.headers).json()["data"]) == 1


def test_a_live_sites_slug_does_not_conflict_for_a_test_key(
    api: TestClient, world: World, team: Team, key: Key
) -> None:
    world.site(team, mode="live", slug="shop")
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "shop"})
    assert response.status_code == 201, "a test key must not learn that a live site exists"


def test_another_team_may_use_the_same_slug(api: TestClient, world: World, key: Key) -> None:
    _create(api, key, slug="shop")
    _create(api, world.owner_key(), slug="shop")


def test_an_unknown_or_foreign_project_is_404(api: TestClient, world: World, key: Key) -> None:
    foreign = world.project(world.team())
    for project in (foreign.id, "proj_" + "0" * 26):
        response = api.post(
            "/v1/sites", headers=key.headers, json={"slug": "a", "project": project}
        )
        assert_error(response, 404, "not_found", param="project")


def test_a_malformed_project_id_is_422(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "a", "project": "nope"})
    assert_error(response, 422, "validation_error", param="project")


def test_a_slug_alone_creates_a_site_in_the_default_project(api: TestClient, key: Key) -> None:
    site = _create(api, key, slug="shop")
    assert site["slug"] == "shop" and site["name"] == "shop" and site["mode"] == "test"
    assert str(site["id"]).startswith("site_") and site["object"] == "site"
    projects = api.get("/v1/projects", headers=key.headers).json()["data"]
    assert [(p["id"], p["slug"]) for p in projects] == [(site["project_id"], "default")]
    assert data_of(api.get(f"/v1/sites/{site['id']}", headers=key.headers)) == site


def test_a_site_gets_the_mode_of_the_key_that_creates_it(
    api: TestClient, world: World, team: Team, database: Database
) -> None:
    live_key = world.owner_key(team, mode="live")
    site = _create(api, live_key, slug="real")
    assert site["mode"] == "live"
    with database.session() as session:
        assert session.get_one(Site, site["id"]).mode == "live"
    test_key = world.owner_key(team, mode="test")
    assert_error(api.get(f"/v1/sites/{site['id']}", headers=test_key.headers), 404, "not_found")


def test_a_mode_in_the_body_is_refused(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "a", "mode": "live"})
    assert_error(response, 422, "validation_error", param="mode")


def test_a_site_in_a_named_project(api: TestClient, world: World, team: Team, key: Key) -> None:
    project = world.project(team)
    site = _create(api, key, slug="in-project", name="In project", project=project.id)
    assert site["project_id"] == project.id and site["name"] == "In project"


def test_get_an_unknown_site_is_404(api: TestClient, key: Key) -> None:
    assert_error(api.get(f"/v1/sites/site_{'0' * 26}", headers=key.headers), 404, "not_found")
    assert_error(api.get("/v1/sites/garbage", headers=key.headers), 404, "not_found")


def test_patch_changes_slug_and_name(api: TestClient, key: Key) -> None:
    site = _create(api, key, slug="old")
    patched = data_of(
        api.patch(f"/v1/sites/{site['id']}", headers=key.headers, json={"slug": "new", "name": "N"})
    )
    assert (patched["slug"], patched["name"]) == ("new", "N")
    assert patched["updated_at"] >= str(site["updated_at"])
    assert data_of(api.get(f"/v1/sites/{site['id']}", headers=key.headers)) == patched


def test_patch_to_a_taken_slug_is_409_and_changes_nothing(api: TestClient, key: Key) -> None:
    _create(api, key, slug="taken")
    site = _create(api, key, slug="mine")
    response = api.patch(
        f"/v1/sites/{site['id']}", headers=key.headers, json={"slug": "taken", "name": "Changed"}
    )
    assert_error(response, 409, "conflict", param="slug")
    after = data_of(api.get(f"/v1/sites/{site['id']}", headers=key.headers))
    assert (after["slug"], after["name"]) == ("mine", "mine")


@pytest.mark.parametrize(
    ("body", "param"),
    [({"slug": "BAD"}, "slug"), ({"name": ""}, "name"), ({"mode": "live"}, "mode")],
)
def test_patch_refuses_bad_fields(
    api: TestClient, key: Key, body: dict[str, str], param: str
) -> None:
    site = _create(api, key, slug="a")
    response = api.patch(f"/v1/sites/{site['id']}", headers=key.headers, json=body)
    assert_error(response, 422, "validation_error", param=param)


def test_delete_removes_the_site_and_its_environments(
    api: TestClient, world: World, key: Key, database: Database
) -> None:
    site = _create(api, key, slug="doomed")
    base = f"/v1/sites/{site['id']}/environments"
    prod = data_of(
        api.post(base, headers=key.headers, json={"name": "prod", "hostnames": ["d.example.com"]}),
        201,
    )
    api.post(base, headers=key.headers, json={"name": "stage", "parent": prod["id"]})
    deleted = data_of(api.delete(f"/v1/sites/{site['id']}", headers=key.headers))
    assert deleted == {"id": site["id"], "deleted": True}
    assert_error(api.get(f"/v1/sites/{site['id']}", headers=key.headers), 404, "not_found")
    assert_error(api.delete(f"/v1/sites/{site['id']}", headers=key.headers), 404, "not_found")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Environment)) == 0
        assert session.scalar(select(func.count()).select_from(EnvironmentHostname)) == 0
    again = _create(api, key, slug="doomed")
    reused = api.post(
        f"/v1/sites/{again['id']}/environments",
        headers=key.headers,
        json={"name": "prod", "hostnames": ["d.example.com"]},
    )
    assert reused.status_code == 201, "the slug and the hostname are free again"


def test_listing_shows_only_the_keys_team_and_mode(
    api: TestClient, world: World, team: Team, key: Key
) -> None:
    mine = world.site(team)
    world.site(team, mode="live")
    world.site(world.team())
    assert [s["id"] for s in api.get("/v1/sites", headers=key.headers).json()["data"]] == [mine.id]
