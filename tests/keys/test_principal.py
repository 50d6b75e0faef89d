"""A key's rights are its scopes ∩ its owner's current rights, re-evaluated on every request."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from forge.tenancy import service as tenancy
from tests.assertions import assert_error, data_of
from tests.factories import World


def test_a_deactivated_clients_key_stops_on_the_very_next_request(
    api: TestClient, world: World
) -> None:
    team = world.team()
    person = world.member(team, "admin")
    personal = world.key(team, person)
    service = world.service_key(team)
    assert api.get("/v1/sites", headers=personal.headers).status_code == 200
    world.deactivate(person)
    assert_error(api.get("/v1/sites", headers=personal.headers), 401, "authentication")
    response = api.get("/v1/sites", headers=service.headers)
    assert response.status_code == 200, "a service token survives its team's people"


def test_a_client_who_leaves_the_team_loses_their_keys(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "member")
    personal = world.key(team, person)
    world.remove_member(team, person)
    assert_error(api.get("/v1/sites", headers=personal.headers), 401, "authentication")


def test_a_role_downgrade_removes_write_rights_at_once(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "member")
    key = world.key(team, person)
    assert api.post("/v1/sites", headers=key.headers, json={"slug": "before"}).status_code == 201
    world.set_role(team, person, "viewer")
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "after"})
    assert_error(response, 403, "insufficient_scope")
    listed = [s["slug"] for s in api.get("/v1/sites", headers=key.headers).json()["data"]]
    assert listed == ["before"], "a viewer still reads"


def test_a_role_upgrade_restores_them(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "viewer")
    key = world.key(team, person)
    assert api.post("/v1/sites", headers=key.headers, json={"slug": "a"}).status_code == 403
    world.set_role(team, person, "member")
    assert api.post("/v1/sites", headers=key.headers, json={"slug": "a"}).status_code == 201


def test_a_role_limited_403_does_not_contradict_itself(api: TestClient, world: World) -> None:
    team = world.team()
    viewer = world.member(team, "viewer")
    key = world.key(team, viewer, scopes=["sites:read", "sites:write"])
    error = assert_error(
        api.post("/v1/sites", headers=key.headers, json={"slug": "a"}), 403, "insufficient_scope"
    )
    assert error["required_scope"] == "sites:write"
    assert "sites:write" not in error["key_scopes"] or "role" in error["message"]


@pytest.mark.parametrize(
    ("role", "can_write"), [("owner", True), ("admin", True), ("member", True), ("viewer", False)]
)
def test_each_role_bounds_what_its_keys_can_do(
    api: TestClient, world: World, role: str, can_write: bool
) -> None:
    team = world.team()
    key = world.key(team, world.member(team, role))
    assert api.get("/v1/sites", headers=key.headers).status_code == 200
    created = api.post("/v1/sites", headers=key.headers, json={"slug": "s"})
    assert created.status_code == (201 if can_write else 403), created.text


def test_a_service_token_acts_as_its_team(api: TestClient, world: World) -> None:
    team = world.team()
    token = world.service_key(team)
    assert token.secret.startswith("mfs_test_")
    assert data_of(api.get(f"/v1/teams/{team.id}", headers=token.headers))["id"] == team.id
    site = data_of(api.post("/v1/sites", headers=token.headers, json={"slug": "bot"}), 201)
    assert site["team_id"] == team.id
    other = world.team()
    assert_error(api.get(f"/v1/teams/{other.id}", headers=token.headers), 404, "not_found")


def test_a_personal_key_acts_as_its_client_in_its_team(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    assert key.secret.startswith("mfk_test_")
    assert data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))["id"] == team.id


def test_a_client_in_two_teams_has_each_keys_rights_in_its_own_team(
    api: TestClient, world: World
) -> None:
    first, second = world.team(), world.team()
    person = world.member(first, "owner")
    with world.database.session() as session:
        tenancy.create_client(session, second.id, person.email, "viewer")
    first_key, second_key = world.key(first, person), world.key(second, person)
    assert api.post("/v1/sites", headers=first_key.headers, json={"slug": "a"}).status_code == 201
    assert api.post("/v1/sites", headers=second_key.headers, json={"slug": "a"}).status_code == 403
    assert_error(api.get(f"/v1/teams/{second.id}", headers=first_key.headers), 404, "not_found")
