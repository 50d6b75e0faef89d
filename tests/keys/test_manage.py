"""List, get, patch and delete: visibility rules, filters, and no escalation through PATCH."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from starlette.testclient import TestClient

from forge.clock import rfc3339, utcnow
from forge.keys.models import ApiKey
from tests.factories import World
from tests.keys.helpers import bearer, create, created, error


def _ids(api: TestClient, caller_headers: dict[str, str], query: str = "") -> list[str]:
    response = api.get(f"/v1/api-keys{query}", headers=caller_headers)
    assert response.status_code == 200, response.text
    return [k["id"] for k in response.json()["data"]]


# --- visibility: deny by default, 404 outside ------------------------------------------------


def test_keys_of_another_team_do_not_exist(api: TestClient, world: World) -> None:
    theirs = world.owner_key()
    mine = world.owner_key()
    for method in ("GET", "PATCH", "DELETE"):
        response = api.request(
            method,
            f"/v1/api-keys/{theirs.id}",
            headers=mine.headers,
            json={} if method == "PATCH" else None,
        )
        assert response.status_code == 404, method
        assert error(response)["code"] == "not_found"
    roll = api.post(f"/v1/api-keys/{theirs.id}/roll", headers=mine.headers)
    assert roll.status_code == 404
    assert theirs.id not in _ids(api, mine.headers)
    assert api.get("/v1/teams/x", headers=theirs.headers).status_code == 404  # theirs still works


def test_another_members_personal_key_is_invisible_even_to_an_owner(
    api: TestClient, world: World
) -> None:
    team = world.team()
    member = world.role_key(team, "member")
    owner = world.owner_key(team)
    assert api.get(f"/v1/api-keys/{member.id}", headers=owner.headers).status_code == 404
    assert api.delete(f"/v1/api-keys/{member.id}", headers=owner.headers).status_code == 404
    assert member.id not in _ids(api, owner.headers)


def test_keys_of_the_other_mode_do_not_exist(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "owner")
    live = world.key(team, person, mode="live")
    test = world.key(team, person, mode="test")
    assert api.get(f"/v1/api-keys/{live.id}", headers=test.headers).status_code == 404
    assert _ids(api, test.headers, "?mode=live") == []
    assert live.id not in _ids(api, test.headers)


def test_service_tokens_are_seen_by_owners_admins_and_tokens_not_members(
    api: TestClient, world: World
) -> None:
    team = world.team()
    token = world.service_token(team)
    for role, sees in (("owner", True), ("admin", True), ("member", False), ("viewer", False)):
        caller = world.role_key(team, role, scopes=["keys:write"])
        response = api.get(f"/v1/api-keys/{token.id}", headers=caller.headers)
        expected = 200 if sees else (404 if role == "member" else 403)
        assert response.status_code == expected, role
    other_token = world.service_token(team)
    assert api.get(f"/v1/api-keys/{token.id}", headers=other_token.headers).status_code == 200


def test_a_service_token_never_sees_personal_keys(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.owner_key(team)
    token = world.service_token(team)
    assert api.get(f"/v1/api-keys/{person.id}", headers=token.headers).status_code == 404
    assert person.id not in _ids(api, token.headers)


def test_a_pinned_key_sees_only_keys_pinned_inside_its_pin(api: TestClient, world: World) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    env = world.environment(site)
    person = world.member(team, "owner")
    pinned = world.key(team, person, resource=("site", site.id))
    inside = world.key(team, person, resource=("environment", env.id))
    same = world.key(team, person, resource=("site", site.id))
    outside = world.key(team, person, resource=("site", other.id))
    wide = world.key(team, person)
    seen = set(_ids(api, pinned.headers))
    assert {pinned.id, inside.id, same.id} <= seen
    assert not {outside.id, wide.id} & seen
    assert api.get(f"/v1/api-keys/{wide.id}", headers=pinned.headers).status_code == 404


# --- list filters and pagination -------------------------------------------------------------


def test_list_filters_owner_revoked_and_expiring_before(api: TestClient, world: World) -> None:
    team = world.team()
    caller = world.owner_key(team)
    token = created(api, caller, owner="team", scopes=["sites:read"])
    soon = created(api, caller, scopes=["sites:read"], expires_in="1d")
    gone = created(api, caller, scopes=["sites:read"])
    assert api.delete(f"/v1/api-keys/{gone['id']}", headers=caller.headers).status_code == 200
    assert _ids(api, caller.headers, "?owner=team") == [token["id"]]
    assert token["id"] not in _ids(api, caller.headers, "?owner=client")
    assert _ids(api, caller.headers, "?revoked=true") == [gone["id"]]
    assert gone["id"] not in _ids(api, caller.headers, "?revoked=false")
    before = rfc3339(utcnow() + timedelta(days=2))
    assert _ids(api, caller.headers, f"?expiring_before={before}") == [soon["id"]]
    assert set(_ids(api, caller.headers, "?mode=test")) >= {caller.id, soon["id"]}


def test_list_filters_refuse_nonsense(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    for query, param in (
        ("?owner=robot", "owner"),
        ("?mode=prod", "mode"),
        ("?revoked=perhaps", "revoked"),
        ("?expiring_before=tomorrow", "expiring_before"),
        ("?expiring_before=2027-01-01T00:00:00", "expiring_before"),
        ("?limit=0", "limit"),
    ):
        response = api.get(f"/v1/api-keys{query}", headers=caller.headers)
        assert response.status_code == 422, query
        assert error(response)["param"] == param


def test_list_pages_newest_first(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = [created(api, caller, scopes=["sites:read"])["id"] for _ in range(3)]
    first = api.get("/v1/api-keys?limit=2", headers=caller.headers).json()
    assert [k["id"] for k in first["data"]] == [made[2], made[1]]
    assert first["has_more"] is True
    rest = api.get(f"/v1/api-keys?limit=2&starting_after={made[1]}", headers=caller.headers).json()
    assert [k["id"] for k in rest["data"]] == [made[0], caller.id]
    assert rest["has_more"] is False


def test_metadata_shape(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller, ip_allowlist=["2001:db8::/32"])
    data = api.get(f"/v1/api-keys/{made['id']}", headers=caller.headers).json()["data"]
    assert data["object"] == "api_key"
    assert data["family"] == "mfk"
    assert data["mode"] == "test"
    assert data["owner"]["type"] == "client"
    assert data["prefix"] == made["prefix"]
    assert data["created_by"] == caller.id
    assert data["revoked_at"] is None
    assert [s["status"] for s in data["secrets"]] == ["current"]
    assert data["secrets"][0]["last_used_at"] is None
    assert "secret" not in data


# --- PATCH -----------------------------------------------------------------------------------


def test_patch_changes_name_scopes_ttl_allowlist_and_resource(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site = world.site(team)
    caller = world.owner_key(team)
    made = created(api, caller)
    response = api.patch(
        f"/v1/api-keys/{made['id']}",
        headers=caller.headers,
        json={
            "name": "renamed",
            "scopes": "read-only",
            "expires_in": "7d",
            "ip_allowlist": ["198.51.100.0/24"],
            "resource": {"site": site.id},
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["name"] == "renamed"
    assert "sites:read" in data["scopes"] and "deployments:write" not in data["scopes"]
    assert data["ip_allowlist"] == ["198.51.100.0/24"]
    assert data["resource"] == {"site": site.id}
    assert data["expires_at"] <= rfc3339(utcnow() + timedelta(days=7, seconds=1))
    # The new scopes hold on the very next request.
    sites = api.get(f"/v1/sites/{site.id}", headers=bearer(made["secret"]))
    assert sites.status_code == 200
    cleared = api.patch(
        f"/v1/api-keys/{made['id']}",
        headers=caller.headers,
        json={"resource": None, "ip_allowlist": []},
    ).json()["data"]
    assert cleared["resource"] is None and cleared["ip_allowlist"] == []


def test_patch_cannot_escalate_scopes(api: TestClient, world: World) -> None:
    caller = world.owner_key(scopes=["keys:write", "sites:read"])
    made = created(api, caller, scopes=["sites:read"])
    response = api.patch(
        f"/v1/api-keys/{made['id']}", headers=caller.headers, json={"scopes": ["sites:write"]}
    )
    assert response.status_code == 403
    assert error(response)["exceeding_scopes"] == ["sites:write"]


def test_patch_cannot_unpin_or_move_outside_the_callers_pin(api: TestClient, world: World) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    caller = world.owner_key(team, resource=("site", site.id))
    made = created(api, caller, scopes=["sites:read"], resource={"site": site.id})
    for resource in (None, {"site": other.id}, {"team": team.id}):
        response = api.patch(
            f"/v1/api-keys/{made['id']}", headers=caller.headers, json={"resource": resource}
        )
        assert response.status_code == 403, resource
        assert error(response)["param"] == "resource"


def test_a_narrow_key_cannot_patch_a_wider_key_of_its_owner(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "owner")
    narrow = world.key(team, person, scopes=["keys:write"])
    wide = world.key(team, person)
    response = api.patch(f"/v1/api-keys/{wide.id}", headers=narrow.headers, json={"name": "mine"})
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"


def test_patch_rejects_bad_fields_and_revoked_keys(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    for body, param in (
        ({"expires_in": "400d"}, "expires_in"),
        ({"scopes": []}, "scopes"),
        ({"ip_allowlist": ["300.1.1.1/32"]}, "ip_allowlist"),
        ({"owner": "team"}, "owner"),
    ):
        response = api.patch(f"/v1/api-keys/{made['id']}", headers=caller.headers, json=body)
        assert response.status_code == 422, body
        assert error(response)["param"] == param
    api.delete(f"/v1/api-keys/{made['id']}", headers=caller.headers)
    response = api.patch(f"/v1/api-keys/{made['id']}", headers=caller.headers, json={"name": "x"})
    assert response.status_code == 409


def test_patch_cannot_revive_an_expired_key(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    with world.database.session() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == made["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = api.patch(
        f"/v1/api-keys/{made['id']}", headers=caller.headers, json={"expires_in": "30d"}
    )
    assert response.status_code == 409


# --- DELETE ----------------------------------------------------------------------------------


def test_delete_revokes_at_once_and_ends_every_secret(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    rolled = api.post(
        f"/v1/api-keys/{made['id']}/roll", headers=caller.headers, json={"grace": "1h"}
    )
    new_secret = rolled.json()["data"]["secret"]
    for secret in (made["secret"], new_secret):
        assert api.get("/v1/api-keys/self", headers=bearer(secret)).status_code == 200
    response = api.delete(f"/v1/api-keys/{made['id']}", headers=caller.headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["revoked_at"] is not None
    assert {s["status"] for s in data["secrets"]} == {"ended"}
    for secret in (made["secret"], new_secret):
        refused = api.get("/v1/api-keys/self", headers=bearer(secret))
        assert refused.status_code == 401
        assert error(refused)["code"] == "authentication"
    again = api.delete(f"/v1/api-keys/{made['id']}", headers=caller.headers)
    assert again.status_code == 200  # idempotent: still revoked, revoked_at unchanged
    assert again.json()["data"]["revoked_at"] == data["revoked_at"]


def test_a_key_can_revoke_itself(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    assert api.delete(f"/v1/api-keys/{caller.id}", headers=caller.headers).status_code == 200
    assert api.get("/v1/api-keys/self", headers=caller.headers).status_code == 401


def test_a_narrow_key_may_revoke_a_wider_key_it_can_see(api: TestClient, world: World) -> None:
    team = world.team()
    person = world.member(team, "owner")
    narrow = world.key(team, person, scopes=["keys:write"])
    wide = world.key(team, person)
    assert api.delete(f"/v1/api-keys/{wide.id}", headers=narrow.headers).status_code == 200
    assert api.get("/v1/api-keys/self", headers=wide.headers).status_code == 401


def test_expiry_boundary(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    with world.database.session() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == made["id"])
            .values(expires_at=utcnow() + timedelta(minutes=1))
        )
    assert api.get("/v1/api-keys/self", headers=bearer(made["secret"])).status_code == 200
    with world.database.session() as session:
        session.execute(update(ApiKey).where(ApiKey.id == made["id"]).values(expires_at=utcnow()))
    response = api.get("/v1/api-keys/self", headers=bearer(made["secret"]))
    assert response.status_code == 401
    assert error(response)["code"] == "authentication"


def test_creating_then_listing_uses_only_the_callers_mode(api: TestClient, world: World) -> None:
    team = world.team()
    caller = world.owner_key(team, mode="live")
    made = created(api, caller, scopes=["sites:read"])
    assert made["secret"].startswith("mfk_live_")
    assert create(api, caller, scopes=["sites:read"], mode="test").status_code == 422
