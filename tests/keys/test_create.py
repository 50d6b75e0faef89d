"""POST /v1/api-keys: the seed's body and response, validation, and no escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.db import Database
from forge.keys import scopes as catalogue
from forge.keys import tokens
from forge.keys.models import ApiKey, KeySecret
from tests.assertions import assert_error
from tests.factories import World
from tests.keys.helpers import SEED_SCOPES, bearer, create, created, error


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --- who may create at all ------------------------------------------------------------------


def test_no_key_is_401(api: TestClient) -> None:
    response = api.post("/v1/api-keys", json={"name": "x", "scopes": ["sites:read"]})
    assert response.status_code == 401
    assert error(response)["code"] == "authentication"


def test_without_keys_write_is_403_naming_the_scope(api: TestClient, world: World) -> None:
    caller = world.owner_key(scopes=["sites:read"])
    response = create(api, caller, scopes=["sites:read"])
    assert response.status_code == 403
    assert error(response)["code"] == "insufficient_scope"
    assert "keys:write" in error(response)["message"]


def test_a_viewer_cannot_mint_even_with_the_scope_on_the_key(api: TestClient, world: World) -> None:
    team = world.team()
    viewer = world.role_key(team, "viewer")  # key holds every scope; the role has no keys:write
    response = create(api, viewer, scopes=["sites:read"])
    assert response.status_code == 403
    assert error(response)["code"] == "insufficient_scope"


# --- every invalid field is a 422 naming it --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"scopes": ["sites:read"]}, "name"),
        ({"name": "", "scopes": ["sites:read"]}, "name"),
        ({"name": "x" * 201, "scopes": ["sites:read"]}, "name"),
        ({"name": "x"}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["sites:admin"]}, "scopes"),
        ({"name": "x", "scopes": "everything"}, "scopes"),
        ({"name": "x", "scopes": [1, 2]}, "scopes"),
        ({"name": "x", "scopes": ["sites:read"], "expires_in": "2y"}, "expires_in"),
        ({"name": "x", "scopes": ["sites:read"], "expires_in": "367d"}, "expires_in"),
        ({"name": "x", "scopes": ["sites:read"], "expires_in": "0d"}, "expires_in"),
        ({"name": "x", "scopes": ["sites:read"], "expires_in": "90"}, "expires_in"),
        ({"name": "x", "scopes": ["sites:read"], "expires_in": "-5d"}, "expires_in"),
        ({"name": "x", "scopes": ["sites:read"], "expires_in": 90}, "expires_in"),
        ({"name": "x", "scopes": ["sites:read"], "ip_allowlist": ["10.0.0.0/33"]}, "ip_allowlist"),
        ({"name": "x", "scopes": ["sites:read"], "ip_allowlist": ["::1/129"]}, "ip_allowlist"),
        ({"name": "x", "scopes": ["sites:read"], "ip_allowlist": ["office"]}, "ip_allowlist"),
        ({"name": "x", "scopes": ["sites:read"], "ip_allowlist": "10.0.0.0/8"}, "ip_allowlist"),
        ({"name": "x", "scopes": ["sites:read"], "resource": {}}, "resource"),
        ({"name": "x", "scopes": ["sites:read"], "resource": {"site": None}}, "resource"),
        ({"name": "x", "scopes": ["sites:read"], "resource": {"site": "nope"}}, "resource.site"),
        ({"name": "x", "scopes": ["sites:read"], "resource": {"planet": "x"}}, "resource.planet"),
        ({"name": "x", "scopes": ["sites:read"], "owner": "admin"}, "owner"),
        ({"name": "x", "scopes": ["sites:read"], "mode": "live"}, "mode"),
    ],
)
def test_invalid_field_is_422_naming_it(
    api: TestClient, world: World, body: dict[str, object], param: str
) -> None:
    response = api.post("/v1/api-keys", headers=world.owner_key().headers, json=body)
    assert response.status_code == 422, response.text
    assert error(response)["code"] == "validation_error"
    assert error(response)["param"] == param


def test_two_pins_at_once_are_422(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    response = create(api, world.owner_key(team), resource={"site": site.id, "team": team.id})
    assert response.status_code == 422
    assert error(response)["param"] == "resource"


def test_every_bad_field_is_listed(api: TestClient, world: World) -> None:
    response = create(api, world.owner_key(), scopes=["x:y"], expires_in="9y", ip_allowlist=["?"])
    listed = {e["param"] for e in error(response)["errors"]}
    assert listed == {"scopes", "expires_in", "ip_allowlist"}


# --- no escalation ---------------------------------------------------------------------------


def test_scopes_beyond_the_minting_key_are_403_naming_them(api: TestClient, world: World) -> None:
    caller = world.owner_key(scopes=["keys:write", "sites:read"])
    response = create(api, caller, scopes=["sites:read", "sites:write", "audit:read"])
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    assert error(response)["param"] == "scopes"
    assert error(response)["exceeding_scopes"] == ["audit:read", "sites:write"]
    assert "audit:read" in error(response)["message"]


def test_scopes_beyond_the_owners_role_are_403(api: TestClient, world: World) -> None:
    team = world.team()
    member = world.role_key(team, "member")  # the key holds every scope, the role does not
    response = create(api, member, scopes=["sites:read", "audit:read"])
    assert response.status_code == 403
    assert error(response)["exceeding_scopes"] == ["audit:read"]


def test_a_preset_beyond_the_minter_is_403(api: TestClient, world: World) -> None:
    team = world.team()
    member = world.role_key(team, "member")
    response = create(api, member, scopes="full-access")
    assert response.status_code == 403
    assert "teams:write" in error(response)["exceeding_scopes"]


def test_a_key_pinned_to_a_site_cannot_mint_an_unpinned_key(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    pinned = world.owner_key(team, resource=("site", site.id))
    response = create(api, pinned, scopes=["sites:read"])
    assert response.status_code == 403
    assert error(response)["param"] == "resource"
    assert site.id in error(response)["message"]


def test_a_key_pinned_to_a_site_cannot_mint_for_a_sibling_site(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site, sibling = world.site(team), world.site(team)
    pinned = world.owner_key(team, resource=("site", site.id))
    response = create(api, pinned, scopes=["sites:read"], resource={"site": sibling.id})
    assert response.status_code == 403
    # Nor for something that does not exist: the same answer, no hint either way.
    ghost = create(api, pinned, scopes=["sites:read"], resource={"site": "site_" + "0" * 26})
    assert ghost.status_code == 403
    assert error(ghost)["code"] == error(response)["code"] == "forbidden"


def test_a_key_pinned_to_a_site_mints_keys_inside_it(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    env = world.environment(site)
    pinned = world.owner_key(team, resource=("site", site.id))
    same = created(api, pinned, scopes=["sites:read"], resource={"site": site.id})
    assert same["resource"] == {"site": site.id}
    narrower = created(api, pinned, scopes=["sites:read"], resource={"env": env.id})
    assert narrower["resource"] == {"env": env.id}


def test_a_key_pinned_to_a_project_mints_for_its_sites_only(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    with world.database.session() as session:
        project_id = session.get_one(type(site), site.id).project_id
    pinned = world.owner_key(team, resource=("project", project_id))
    assert created(api, pinned, scopes=["sites:read"], resource={"site": site.id})
    response = create(api, pinned, scopes=["sites:read"], resource={"team": team.id})
    assert response.status_code == 403


def test_a_pin_outside_the_team_is_404(api: TestClient, world: World) -> None:
    other_site = world.site(world.team())
    response = create(api, world.owner_key(), resource={"site": other_site.id})
    assert response.status_code == 404
    assert error(response)["param"] == "resource.site"
    other_team = world.team()
    assert create(api, world.owner_key(), resource={"team": other_team.id}).status_code == 404


def test_a_pin_in_the_other_mode_is_404(api: TestClient, world: World) -> None:
    team = world.team()
    live_site = world.site(team, mode="live")
    response = create(api, world.owner_key(team, mode="test"), resource={"site": live_site.id})
    assert response.status_code == 404


def test_a_service_token_is_minted_only_by_an_owner(api: TestClient, world: World) -> None:
    team = world.team()
    for role in ("admin", "member"):
        response = create(api, world.role_key(team, role), owner="team", scopes=["sites:read"])
        assert response.status_code == 403, role
        assert error(response)["code"] == "forbidden"
        assert error(response)["param"] == "owner"


def test_a_service_token_cannot_mint_keys(api: TestClient, world: World) -> None:
    team = world.team()
    token = world.service_token(team, scopes=["keys:write", "sites:read"])
    for owner in ("client", "team"):
        response = create(api, token, owner=owner, scopes=["sites:read"])
        assert response.status_code == 403
        assert error(response)["param"] == "owner"


UNUSABLE = (
    "scopes: a service token acts as its team and can never use secrets:set-value "
    "(setting secret values stays with people's keys)."
)


@pytest.mark.parametrize("scopes", [["sites:read", "secrets:set-value"], "full-access"])
def test_a_service_token_is_never_minted_with_a_scope_it_can_never_use(
    api: TestClient, world: World, database: Database, scopes: list[str] | str
) -> None:
    team = world.team()
    owner = world.owner_key(team)
    response = create(api, owner, owner="team", scopes=scopes)
    refused = assert_error(response, 422, "validation_error", "scopes")
    assert refused["message"] == UNUSABLE
    assert refused["unusable_scopes"] == ["secrets:set-value"]
    assert refused["errors"] == [{"param": "scopes", "message": UNUSABLE}]
    with database.session() as session:
        assert session.scalars(select(ApiKey.id).where(ApiKey.owner_type == "team")).all() == []
    # The same scopes on the owner's own personal key are theirs to hold.
    assert "secrets:set-value" in created(api, owner, scopes=scopes)["scopes"]


def test_a_service_token_is_never_patched_to_a_scope_it_can_never_use(
    api: TestClient, world: World
) -> None:
    owner = world.owner_key()
    token = created(api, owner, owner="team", scopes=["sites:read"])
    response = api.patch(
        f"/v1/api-keys/{token['id']}",
        headers=owner.headers,
        json={"scopes": ["sites:read", "secrets:set-value"]},
    )
    assert assert_error(response, 422, "validation_error", "scopes")["message"] == UNUSABLE
    shown = api.get(f"/v1/api-keys/{token['id']}", headers=owner.headers).json()["data"]
    assert shown["scopes"] == ["sites:read"]


def test_a_deactivated_owner_key_can_no_longer_mint(api: TestClient, world: World) -> None:
    from forge.tenancy import service as tenancy

    team = world.team()
    person = world.member(team, "owner")
    key = world.key(team, person)
    with world.database.session() as session:
        tenancy.deactivate_client(session, person.id)
    assert create(api, key).status_code == 401


# --- what a successful create answers --------------------------------------------------------


def test_seed_example_answers_the_seed_shape(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team, mode="live")
    caller = world.owner_key(team, mode="live")
    response = api.post(
        "/v1/api-keys",
        headers={
            **caller.headers,
            "Forge-Version": "2026-06-23",
            "Content-Type": "application/json",
        },
        content=(
            '{"name": "ci-deploy-bot",'
            ' "scopes": ["sites:read", "deployments:write", "environments:write", "jobs:read"],'
            f' "resource": {{ "site": "{site.id}" }},'
            ' "expires_in": "90d"}'
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"data", "request_id"}
    assert body["request_id"].startswith("req_")
    data = body["data"]
    assert set(data) == {
        "id",
        "name",
        "secret",
        "prefix",
        "scopes",
        "resource",
        "expires_at",
        "created_at",
    }
    assert data["id"].startswith("key_")
    assert data["name"] == "ci-deploy-bot"
    assert data["secret"].startswith("mfk_live_")
    assert data["prefix"] == data["secret"][:13] + "…"
    assert sorted(data["scopes"]) == sorted(SEED_SCOPES)
    assert data["resource"] == {"site": site.id}
    lifetime = _at(data["expires_at"]) - _at(data["created_at"])
    assert timedelta(days=90) - timedelta(seconds=1) <= lifetime <= timedelta(days=90)
    # The secret works at once, with exactly what it was given.
    assert api.get(f"/v1/sites/{site.id}", headers=bearer(data["secret"])).status_code == 200


def test_default_ttl_is_90_days_and_1y_is_accepted(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    default = created(api, caller, scopes=["sites:read"])
    assert (_at(default["expires_at"]) - _at(default["created_at"])).days in (89, 90)
    year = created(api, caller, scopes=["sites:read"], expires_in="1y")
    assert (_at(year["expires_at"]) - _at(year["created_at"])).days in (364, 365)
    for ttl, seconds in (("45s", 45), ("30m", 1800), ("12h", 43200), ("2w", 1209600)):
        made = created(api, caller, scopes=["sites:read"], expires_in=ttl)
        span = (_at(made["expires_at"]) - _at(made["created_at"])).total_seconds()
        assert seconds - 1 <= span <= seconds + 1, ttl


@pytest.mark.parametrize("preset", sorted(catalogue.PRESETS))
def test_presets_expand_to_their_scopes(api: TestClient, world: World, preset: str) -> None:
    made = created(api, world.owner_key(), scopes=preset)
    assert made["scopes"] == sorted(catalogue.PRESETS[preset])


def test_ip_allowlist_accepts_v4_and_v6_cidrs(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(
        api, caller, ip_allowlist=["203.0.113.0/24", "2001:DB8::/32", "198.51.100.7", "10.1.2.3/8"]
    )
    detail = api.get(f"/v1/api-keys/{made['id']}", headers=caller.headers).json()["data"]
    # Normalised: host bits cleared, v6 lower-cased, a bare address is a /32.
    assert detail["ip_allowlist"] == [
        "203.0.113.0/24",
        "2001:db8::/32",
        "198.51.100.7/32",
        "10.0.0.0/8",
    ]


def test_a_test_key_mints_test_keys_and_a_live_key_live_keys(api: TestClient, world: World) -> None:
    team = world.team()
    assert created(api, world.owner_key(team, mode="test"))["secret"].startswith("mfk_test_")
    assert created(api, world.owner_key(team, mode="live"))["secret"].startswith("mfk_live_")


def test_an_owner_mints_a_service_token(api: TestClient, world: World) -> None:
    made = created(api, world.owner_key(), owner="team", scopes=["sites:read"])
    assert made["secret"].startswith("mfs_test_")
    me = api.get("/v1/api-keys/self", headers=bearer(made["secret"]))
    assert me.json()["data"]["owner"]["type"] == "team"


def test_the_secret_has_a_valid_checksum(api: TestClient, world: World) -> None:
    secret = created(api, world.owner_key())["secret"]
    random_part, check = secret[9:39], secret[39:]
    assert len(secret) == 45
    assert tokens.checksum(random_part) == check


def test_only_a_hash_is_stored_and_no_event_holds_the_secret(
    api: TestClient, world: World, database: Database
) -> None:
    made = created(api, world.owner_key())
    with database.session() as session:
        stored = session.scalars(select(KeySecret).where(KeySecret.key_id == made["id"])).one()
        assert stored.secret_hash == tokens.hash_secret(made["secret"])
        key = session.get_one(ApiKey, made["id"])
        columns = [str(getattr(key, c.key)) for c in ApiKey.__table__.columns]
        assert not any(made["secret"] in value for value in columns)
        events = session.scalars(select(AuditEvent)).all()
        assert events
        assert not any(made["secret"] in str(e.data) for e in events)
        assert not any(made["secret"][9:] in str(e.data) for e in events)


def test_reading_it_back_never_shows_the_secret(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    for path in (f"/v1/api-keys/{made['id']}", "/v1/api-keys"):
        response = api.get(path, headers=caller.headers)
        assert response.status_code == 200
        assert made["secret"] not in response.text
        assert "secret_hash" not in response.text


def test_a_key_minted_by_a_key_cannot_exceed_it_nor_its_pin(api: TestClient, world: World) -> None:
    """Escalation through a chain: owner key → K1 (narrow) → K2 must stay within K1."""
    team = world.team()
    site = world.site(team)
    env = world.environment(site)
    owner = world.owner_key(team)
    k1 = created(
        api,
        owner,
        scopes=["keys:write", "sites:read", "environments:read"],
        resource={"site": site.id},
    )
    k1_headers = bearer(k1["secret"])
    k2 = api.post(
        "/v1/api-keys",
        headers=k1_headers,
        json={"name": "k2", "scopes": ["sites:read"], "resource": {"env": env.id}},
    )
    assert k2.status_code == 201
    for body in (
        {"name": "k2", "scopes": ["sites:write"], "resource": {"site": site.id}},
        {"name": "k2", "scopes": ["sites:read"]},
        {"name": "k2", "scopes": "full-access", "resource": {"site": site.id}},
    ):
        response = api.post("/v1/api-keys", headers=k1_headers, json=body)
        assert response.status_code == 403, body
        assert error(response)["code"] == "forbidden"
    # And K2 (no keys:write) cannot mint at all.
    k2_headers = bearer(k2.json()["data"]["secret"])
    response = api.post(
        "/v1/api-keys", headers=k2_headers, json={"name": "k3", "scopes": ["sites:read"]}
    )
    assert response.status_code == 403
    assert error(response)["code"] == "insufficient_scope"
