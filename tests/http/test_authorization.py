"""What a valid key may touch: its team, its mode, its constraint (else 404), its scopes (403)."""

from __future__ import annotations

from starlette.testclient import TestClient

from forge.keys import scopes as catalogue
from tests.assertions import assert_error, data_of
from tests.factories import World

ALL_BUT = sorted(catalogue.ALL_SCOPES)


def _without(*scopes: str) -> list[str]:
    return [s for s in ALL_BUT if s not in scopes]


# --- scopes ---------------------------------------------------------------------------------


def test_a_missing_scope_is_403_naming_it_in_body_and_header(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    key = world.owner_key(team, scopes=["environments:read", "teams:read"])
    response = api.get(f"/v1/sites/{site.id}", headers=key.headers)
    error = assert_error(response, 403, "insufficient_scope")
    assert error["type"] == "permission_error"
    assert error["required_scope"] == "sites:read"
    assert error["key_scopes"] == ["environments:read", "teams:read"]
    assert "sites:read" in error["message"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="sites:read"' in challenge


def test_write_does_not_imply_read(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    env = world.environment(site)
    key = world.owner_key(team, scopes=["sites:write", "environments:write"])
    error = assert_error(
        api.get(f"/v1/sites/{site.id}", headers=key.headers), 403, "insufficient_scope"
    )
    assert error["required_scope"] == "sites:read"
    assert_error(api.get("/v1/sites", headers=key.headers), 403, "insufficient_scope")
    assert_error(
        api.get(f"/v1/sites/{site.id}/environments/{env.id}", headers=key.headers),
        403,
        "insufficient_scope",
    )
    patched = api.patch(f"/v1/sites/{site.id}", headers=key.headers, json={"name": "Renamed"})
    assert data_of(patched)["name"] == "Renamed"


def test_read_does_not_imply_write(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    key = world.owner_key(team, scopes=["sites:read"])
    response = api.patch(f"/v1/sites/{site.id}", headers=key.headers, json={"name": "Renamed"})
    error = assert_error(response, 403, "insufficient_scope")
    assert error["required_scope"] == "sites:write"
    assert_error(api.delete(f"/v1/sites/{site.id}", headers=key.headers), 403, "insufficient_scope")
    assert_error(
        api.post("/v1/sites", headers=key.headers, json={"slug": "new"}), 403, "insufficient_scope"
    )
    assert data_of(api.get(f"/v1/sites/{site.id}", headers=key.headers))["name"] == "Site"


def test_each_route_asks_for_its_own_scope(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    env = world.environment(site)
    calls = [
        ("GET", "/v1/sites", "sites:read"),
        ("POST", "/v1/sites", "sites:write"),
        ("GET", f"/v1/sites/{site.id}", "sites:read"),
        ("PATCH", f"/v1/sites/{site.id}", "sites:write"),
        ("DELETE", f"/v1/sites/{site.id}", "sites:write"),
        ("GET", f"/v1/sites/{site.id}/environments", "environments:read"),
        ("POST", f"/v1/sites/{site.id}/environments", "environments:write"),
        ("GET", f"/v1/sites/{site.id}/environments/{env.id}", "environments:read"),
        ("PATCH", f"/v1/sites/{site.id}/environments/{env.id}", "environments:write"),
        ("DELETE", f"/v1/sites/{site.id}/environments/{env.id}", "environments:write"),
        ("GET", f"/v1/teams/{team.id}", "teams:read"),
        ("GET", "/v1/projects", "projects:read"),
        ("POST", "/v1/projects", "projects:write"),
    ]
    for method, path, scope in calls:
        key = world.owner_key(team, scopes=_without(scope))
        body = {"slug": "x", "name": "x"} if method == "POST" else {}
        response = api.request(method, path, headers=key.headers, json=body or None)
        error = assert_error(response, 403, "insufficient_scope")
        assert error["required_scope"] == scope, (method, path)


def test_not_found_comes_before_insufficient_scope(api: TestClient, world: World) -> None:
    mine, theirs = world.team(), world.team()
    their_site = world.site(theirs)
    key = world.owner_key(mine, scopes=["teams:read"])
    assert_error(api.get(f"/v1/sites/{their_site.id}", headers=key.headers), 404, "not_found")
    assert_error(
        api.get(f"/v1/sites/{their_site.id}/environments", headers=key.headers), 404, "not_found"
    )
    assert_error(api.get(f"/v1/sites/site_{'0' * 26}", headers=key.headers), 404, "not_found")
    their_env = world.environment(their_site)
    assert_error(
        api.get(f"/v1/sites/{their_site.id}/environments/{their_env.id}", headers=key.headers),
        404,
        "not_found",
    )


# --- team and mode --------------------------------------------------------------------------


def test_another_teams_site_does_not_exist(api: TestClient, world: World) -> None:
    mine, theirs = world.team(), world.team()
    key = world.owner_key(mine)
    site = world.site(theirs)
    env = world.environment(site)
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "x"} if method == "PATCH" else None
        response = api.request(method, f"/v1/sites/{site.id}", headers=key.headers, json=body)
        assert_error(response, 404, "not_found", param="site")
    env_path = f"/v1/sites/{site.id}/environments/{env.id}"
    assert_error(api.get(env_path, headers=key.headers), 404, "not_found")
    assert_error(api.delete(env_path, headers=key.headers), 404, "not_found")
    assert_error(
        api.post(f"/v1/sites/{site.id}/environments", headers=key.headers, json={"name": "x"}),
        404,
        "not_found",
    )
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_an_environment_is_only_found_through_its_own_site(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    site, other = world.site(team), world.site(team)
    env = world.environment(other)
    response = api.get(f"/v1/sites/{site.id}/environments/{env.id}", headers=key.headers)
    assert_error(response, 404, "not_found", param="env")


def test_a_test_key_cannot_see_live_sites(api: TestClient, world: World) -> None:
    team = world.team()
    live = world.site(team, mode="live")
    env = world.environment(live)
    key = world.owner_key(team, mode="test")
    assert_error(api.get(f"/v1/sites/{live.id}", headers=key.headers), 404, "not_found")
    assert_error(
        api.get(f"/v1/sites/{live.id}/environments/{env.id}", headers=key.headers), 404, "not_found"
    )
    assert_error(
        api.get(f"/v1/sites/{live.id}/environments", headers=key.headers), 404, "not_found"
    )
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_live_key_cannot_see_test_sites(api: TestClient, world: World) -> None:
    team = world.team()
    test_site = world.site(team, mode="test")
    live_site = world.site(team, mode="live")
    key = world.owner_key(team, mode="live")
    assert_error(api.get(f"/v1/sites/{test_site.id}", headers=key.headers), 404, "not_found")
    listed = [s["id"] for s in api.get("/v1/sites", headers=key.headers).json()["data"]]
    assert listed == [live_site.id]


# --- resource constraints -------------------------------------------------------------------


def test_a_site_pinned_key_sees_only_its_site(api: TestClient, world: World) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    env, other_env = world.environment(site), world.environment(other)
    key = world.owner_key(team, resource=("site", site.id))
    assert data_of(api.get(f"/v1/sites/{site.id}", headers=key.headers))["id"] == site.id
    listed = [s["id"] for s in api.get("/v1/sites", headers=key.headers).json()["data"]]
    assert listed == [site.id]
    assert data_of(api.get(f"/v1/sites/{site.id}/environments/{env.id}", headers=key.headers))
    assert_error(api.get(f"/v1/sites/{other.id}", headers=key.headers), 404, "not_found")
    assert_error(
        api.get(f"/v1/sites/{other.id}/environments/{other_env.id}", headers=key.headers),
        404,
        "not_found",
    )
    assert_error(
        api.patch(f"/v1/sites/{other.id}", headers=key.headers, json={"name": "x"}),
        404,
        "not_found",
    )


def test_a_site_pinned_key_cannot_list_another_sites_environments(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    world.environment(other, "production")
    key = world.owner_key(team, resource=("site", site.id))
    response = api.get(f"/v1/sites/{other.id}/environments", headers=key.headers)
    assert_error(response, 404, "not_found")


def test_a_site_pinned_key_cannot_create_environments_in_another_site(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    key = world.owner_key(team, resource=("site", site.id))
    response = api.post(
        f"/v1/sites/{other.id}/environments", headers=key.headers, json={"name": "sneaky"}
    )
    assert_error(response, 404, "not_found")
    owner = world.owner_key(team)
    assert api.get(f"/v1/sites/{other.id}/environments", headers=owner.headers).json()["data"] == []


def test_a_project_pinned_key_sees_only_its_projects_sites(api: TestClient, world: World) -> None:
    team = world.team()
    inside = world.site(team)  # in the default project
    project = world.project(team)
    key = world.owner_key(team, resource=("project", project.id))
    assert_error(api.get(f"/v1/sites/{inside.id}", headers=key.headers), 404, "not_found")
    assert_error(api.get(f"/v1/teams/{team.id}", headers=key.headers), 404, "not_found")
    created = api.post(
        "/v1/sites", headers=key.headers, json={"slug": "pinned", "project": project.id}
    )
    assert data_of(created, 201)["project_id"] == project.id
    listed = [s["slug"] for s in api.get("/v1/sites", headers=key.headers).json()["data"]]
    assert listed == ["pinned"]
    projects = api.get("/v1/projects", headers=key.headers).json()["data"]
    assert [p["id"] for p in projects] == [project.id]


def test_a_project_pinned_key_cannot_create_a_site_elsewhere(api: TestClient, world: World) -> None:
    team = world.team()
    project = world.project(team)
    key = world.owner_key(team, resource=("project", project.id))
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "default-project"})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
    owner = world.owner_key(team)
    assert api.get("/v1/sites", headers=owner.headers).json()["data"] == []


def test_an_environment_pinned_key_reaches_its_environment_through_the_site(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site = world.site(team)
    env, sibling = world.environment(site, "production"), world.environment(site, "staging")
    key = world.owner_key(team, resource=("environment", env.id))
    assert data_of(api.get(f"/v1/sites/{site.id}/environments/{env.id}", headers=key.headers))
    assert_error(api.get(f"/v1/sites/{site.id}", headers=key.headers), 404, "not_found")
    assert_error(
        api.get(f"/v1/sites/{site.id}/environments/{sibling.id}", headers=key.headers),
        404,
        "not_found",
    )
    listed = api.get(f"/v1/sites/{site.id}/environments", headers=key.headers).json()["data"]
    assert [e["id"] for e in listed] == [env.id]
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []
    assert_error(
        api.patch(f"/v1/sites/{site.id}", headers=key.headers, json={"name": "x"}),
        404,
        "not_found",
    )
    patched = api.patch(
        f"/v1/sites/{site.id}/environments/{env.id}",
        headers=key.headers,
        json={"origin_url": "https://origin.example.com"},
    )
    assert data_of(patched)["origin_url"] == "https://origin.example.com"


def test_an_environment_pinned_key_cannot_list_another_sites_environments(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    env = world.environment(site)
    world.environment(other)
    key = world.owner_key(team, resource=("environment", env.id))
    response = api.get(f"/v1/sites/{other.id}/environments", headers=key.headers)
    assert_error(response, 404, "not_found")


def test_a_team_pinned_key_sees_the_whole_team(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    key = world.owner_key(team, resource=("team", team.id))
    assert data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))["id"] == team.id
    assert data_of(api.get(f"/v1/sites/{site.id}", headers=key.headers))["id"] == site.id
