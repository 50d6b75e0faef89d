"""Authentication: `Authorization: Bearer <key>` only, and every way a credential is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from forge.keys import tokens
from tests.assertions import assert_error, data_of
from tests.factories import Key, World, bearer


def assert_unauthenticated(api: TestClient, headers: dict[str, str], words: str) -> None:
    response = api.get("/v1/sites", headers=headers)
    error = assert_error(response, 401, "authentication", param=None)
    assert error["type"] == "authentication_error"
    assert words.lower() in error["message"].lower(), error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_no_authorization_header(api: TestClient) -> None:
    assert_unauthenticated(api, {}, "Authorization: Bearer")


def test_an_empty_authorization_header(api: TestClient) -> None:
    assert_unauthenticated(api, {"Authorization": ""}, "Authorization: Bearer")


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer:", "mfk"])
def test_a_scheme_other_than_bearer(api: TestClient, key: Key, scheme: str) -> None:
    assert_unauthenticated(api, {"Authorization": f"{scheme} {key.secret}"}, "Bearer")


def test_the_bare_key_without_a_scheme(api: TestClient, key: Key) -> None:
    assert_unauthenticated(api, {"Authorization": key.secret}, "Bearer")


def test_bearer_without_a_token(api: TestClient) -> None:
    assert_unauthenticated(api, {"Authorization": "Bearer "}, "Bearer")


def test_the_scheme_is_case_insensitive(api: TestClient, key: Key) -> None:
    response = api.get("/v1/sites", headers={"Authorization": f"bearer {key.secret}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "hello",
        "mfk_prod_" + "A" * 36,  # unknown mode
        "mfx_live_" + "A" * 36,  # unknown family
        "mfk_live_" + "A" * 35,  # too short
        "mfk_live_" + "A" * 37,  # too long
        "mfk_live_" + "A" * 34 + "-_",  # outside base62
        "MFK_LIVE_" + "A" * 36,
    ],
)
def test_a_malformed_key(api: TestClient, token: str) -> None:
    assert_unauthenticated(api, bearer(token), "malformed")


def _changed(secret: str, position: int) -> str:
    position %= len(secret)
    char = secret[position]
    return secret[:position] + ("B" if char != "B" else "C") + secret[position + 1 :]


@pytest.mark.parametrize("position", [9, 20, -1])
def test_a_look_alike_with_one_character_changed_fails_its_checksum(
    api: TestClient, key: Key, position: int
) -> None:
    assert_unauthenticated(api, bearer(_changed(key.secret, position)), "checksum")


def test_a_well_formed_unknown_key(api: TestClient) -> None:
    assert_unauthenticated(api, bearer(tokens.generate("mfk", "test")), "unknown")


def test_the_same_secret_with_another_mode_is_unknown(api: TestClient, key: Key) -> None:
    random_part = key.secret.split("_", 2)[2]
    assert_unauthenticated(api, bearer("mfk_live_" + random_part), "unknown")


def test_an_expired_key(api: TestClient, world: World, key: Key) -> None:
    assert api.get("/v1/sites", headers=key.headers).status_code == 200
    world.expire(key)
    assert_unauthenticated(api, key.headers, "expired")


def test_a_revoked_key_stops_on_the_next_request(api: TestClient, world: World, key: Key) -> None:
    assert api.get("/v1/sites", headers=key.headers).status_code == 200
    world.revoke(key)
    assert_unauthenticated(api, key.headers, "revoked")


def test_a_revoked_service_token_stops_too(api: TestClient, world: World) -> None:
    token = world.service_key()
    assert api.get("/v1/sites", headers=token.headers).status_code == 200
    world.revoke(token)
    assert_unauthenticated(api, token.headers, "revoked")


@pytest.mark.parametrize("prefix", ["mfo_at_", "mfo_rt_"])
def test_oauth_tokens_are_recognised_and_not_supported_yet(api: TestClient, prefix: str) -> None:
    assert_unauthenticated(api, bearer(prefix + "A" * 40), "not supported yet")


def test_every_authenticated_route_refuses_a_missing_key(api: TestClient) -> None:
    site, env, team = "site_" + "0" * 26, "env_" + "0" * 26, "team_" + "0" * 26
    calls = [
        ("GET", "/v1/sites"),
        ("POST", "/v1/sites"),
        ("GET", f"/v1/sites/{site}"),
        ("PATCH", f"/v1/sites/{site}"),
        ("DELETE", f"/v1/sites/{site}"),
        ("GET", f"/v1/sites/{site}/environments"),
        ("POST", f"/v1/sites/{site}/environments"),
        ("GET", f"/v1/sites/{site}/environments/{env}"),
        ("PATCH", f"/v1/sites/{site}/environments/{env}"),
        ("DELETE", f"/v1/sites/{site}/environments/{env}"),
        ("GET", f"/v1/teams/{team}"),
        ("GET", "/v1/projects"),
        ("POST", "/v1/projects"),
    ]
    for method, path in calls:
        response = api.request(method, path, json={} if method in ("POST", "PATCH") else None)
        assert_error(response, 401, "authentication")


def test_a_valid_key_authenticates(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    assert data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))["id"] == team.id


# --- checked before any database look-up ----------------------------------------------------


@pytest.fixture
def api_without_database(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """An app whose database cannot be reached: any look-up fails, so a 401 proves none ran."""
    unreachable = Database(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'forge.db'}")
    with TestClient(create_app(settings, unreachable), raise_server_exceptions=False) as client:
        yield client
    unreachable.dispose()


def test_a_bad_checksum_is_refused_without_the_database(
    api_without_database: TestClient, key: Key
) -> None:
    response = api_without_database.get("/v1/sites", headers=bearer(_changed(key.secret, 12)))
    assert_error(response, 401, "authentication")


def test_malformed_and_oauth_keys_are_refused_without_the_database(
    api_without_database: TestClient,
) -> None:
    for token in ("nonsense", "mfo_at_abc"):
        response = api_without_database.get("/v1/sites", headers=bearer(token))
        assert_error(response, 401, "authentication")


def test_a_well_formed_key_does_reach_the_database(api_without_database: TestClient) -> None:
    # The contrast that makes the two tests above meaningful: a look-up fails loudly here.
    response = api_without_database.get("/v1/sites", headers=bearer(tokens.generate("mfk", "test")))
    assert_error(response, 500, "internal")
