"""GET /v1/api-keys/self: any valid key asks about itself."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.tenancy import service as tenancy
from tests.factories import World
from tests.keys.helpers import bearer, created, error
from tests.ratelimit.conftest import pin_clock


def test_self_needs_a_valid_key(api: TestClient) -> None:
    assert api.get("/v1/api-keys/self").status_code == 401
    bad = api.get("/v1/api-keys/self", headers=bearer("mfk_test_" + "a" * 36))
    assert bad.status_code == 401
    assert "checksum" in error(bad)["message"]
    oauth = api.get("/v1/api-keys/self", headers=bearer("mfo_at_whatever"))
    assert oauth.status_code == 401
    assert "not supported yet" in error(oauth)["message"]


def test_self_needs_no_scope(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    caller = world.owner_key(
        team,
        scopes=["sites:read"],
        resource=("site", site.id),
        ip_allowlist=["198.51.100.0/24", "2001:db8::/32"],
    )
    response = api.get("/v1/api-keys/self", headers=caller.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == caller.id
    assert data["family"] == "mfk"
    assert data["mode"] == "test"
    assert data["owner"]["type"] == "client"
    assert data["prefix"] == caller.prefix + "…"
    assert data["scopes"] == ["sites:read"]
    assert data["effective_scopes"] == ["sites:read"]
    assert data["resource"] == {"site": site.id}
    assert data["ip_allowlist"] == ["198.51.100.0/24", "2001:db8::/32"]
    assert data["expires_at"].endswith("Z")
    assert data["previous_prefix"] is None and data["previous_expires_at"] is None
    assert {b["kind"] for b in data["budgets"]} == {"read", "write", "create"}
    assert "secret" not in data


def test_self_shows_an_older_secret_in_grace(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    rolled = api.post(
        f"/v1/api-keys/{caller.id}/roll", headers=caller.headers, json={"grace": "1h"}
    )
    new = rolled.json()["data"]
    for secret in (caller.secret, new["secret"]):
        data = api.get("/v1/api-keys/self", headers=bearer(secret)).json()["data"]
        assert data["previous_prefix"] == new["previous_prefix"]
        assert data["previous_expires_at"] == new["previous_expires_at"]
    # With the old secret the prefix shown is the old one: the caller learns it is on its way out.
    old = api.get("/v1/api-keys/self", headers=caller.headers).json()["data"]
    assert old["prefix"] == new["previous_prefix"]


def test_effective_scopes_follow_the_owners_role_now(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "owner")
    key = world.key(team, person)
    with world.database.session() as session:
        from forge.tenancy.models import Membership

        session.get_one(Membership, (team.id, person.id)).role = "viewer"
    data = api.get("/v1/api-keys/self", headers=key.headers).json()["data"]
    assert "keys:write" in data["scopes"]
    assert "keys:write" not in data["effective_scopes"]
    assert api.get("/v1/api-keys", headers=key.headers).status_code == 403


def test_a_service_token_describes_itself_and_survives_its_minter(
    api: TestClient, world: World
) -> None:
    team = world.team()
    person = world.member(team, "owner")
    minter = world.key(team, person)
    token = created(api, minter, owner="team", scopes=["sites:read"])
    personal = created(api, minter, scopes=["sites:read"])
    with world.database.session() as session:
        tenancy.deactivate_client(session, person.id)
    data = api.get("/v1/api-keys/self", headers=bearer(token["secret"])).json()["data"]
    assert data["family"] == "mfs"
    assert data["owner"] == {"type": "team", "id": team.id}
    assert api.get("/v1/api-keys/self", headers=bearer(personal["secret"])).status_code == 401


def test_a_personal_key_stops_when_its_client_leaves_the_team(
    api: TestClient, world: World
) -> None:
    team = world.team()
    person = world.member(team, "member")
    key = world.key(team, person)
    with world.database.session() as session:
        from forge.tenancy.models import Membership

        session.delete(session.get_one(Membership, (team.id, person.id)))
    assert api.get("/v1/api-keys/self", headers=key.headers).status_code == 401


def test_both_oauth_prefixes_are_recognised_and_refused(api: TestClient) -> None:
    for token in ("mfo_at_0123456789abcdef", "mfo_rt_0123456789abcdef"):
        response = api.get("/v1/api-keys/self", headers=bearer(token))
        assert response.status_code == 401
        assert "not supported yet" in error(response)["message"]


def test_a_key_travels_only_in_the_authorization_header(api: TestClient, world: World) -> None:
    key = world.owner_key()
    in_query = api.get(f"/v1/api-keys/self?api_key={key.secret}")
    assert in_query.status_code == 400
    assert "Authorization" in error(in_query)["message"]
    in_body = api.post(
        "/v1/api-keys", json={"api_key": key.secret, "name": "x", "scopes": ["sites:read"]}
    )
    assert in_body.status_code == 400
    basic = api.get("/v1/api-keys/self", headers={"Authorization": f"Basic {key.secret}"})
    assert basic.status_code == 401


def test_there_is_no_admin_scope(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    for scopes in ("admin", ["admin"], ["admin:write"], ["platform:admin"]):
        response = api.post(
            "/v1/api-keys", headers=caller.headers, json={"name": "x", "scopes": scopes}
        )
        assert response.status_code == 422, scopes
        assert error(response)["param"] == "scopes"


def test_a_service_token_with_an_allowlist_works_only_from_it(
    api: TestClient, world: World
) -> None:
    team = world.team()
    runners = world.service_token(team, ip_allowlist=["198.51.100.0/24"])  # the api fixture's IP
    elsewhere = world.service_token(team, ip_allowlist=["192.0.2.0/24"])
    assert api.get("/v1/api-keys/self", headers=runners.headers).status_code == 200
    response = api.get("/v1/api-keys/self", headers=elsewhere.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "ip_not_allowed"


def test_self_reports_the_rate_limit_budgets_and_spends_none(
    app: FastAPI, api: TestClient, world: World
) -> None:
    pin_clock(app)
    caller = world.owner_key()
    api.get("/v1/sites", headers=caller.headers)  # spends one read
    first = api.get("/v1/api-keys/self", headers=caller.headers).json()["data"]["budgets"]
    again = api.get("/v1/api-keys/self", headers=caller.headers).json()["data"]["budgets"]
    kinds = {b["kind"]: b for b in first}
    assert set(kinds) == {"read", "write", "create"}
    assert (kinds["read"]["limit"], kinds["read"]["remaining"]) == (1000, 999)
    assert (kinds["create"]["limit"], kinds["create"]["remaining"]) == (1000, 1000)
    assert again == first, "asking spends nothing"


def test_a_service_token_is_of_the_service_family_everywhere(api: TestClient, world: World) -> None:
    team = world.team()
    owner = world.owner_key(team)
    token = world.service_token(team)
    assert token.secret.startswith("mfs_test_")
    self_view = api.get("/v1/api-keys/self", headers=token.headers).json()["data"]
    metadata = api.get(f"/v1/api-keys/{token.id}", headers=owner.headers).json()["data"]
    assert self_view["family"] == metadata["family"] == "mfs"
    assert self_view["owner"] == metadata["owner"] == {"type": "team", "id": team.id}
