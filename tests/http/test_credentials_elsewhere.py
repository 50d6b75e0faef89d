"""A key in a query string or a request body is refused (400) and never used."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_error
from tests.factories import Key, World


@pytest.mark.parametrize("name", ["api_key", "apikey", "API_KEY", "token", "access_token", "key"])
def test_a_credential_parameter_in_the_query_is_refused(
    api: TestClient, key: Key, name: str
) -> None:
    response = api.get("/v1/sites", params={name: key.secret})
    error = assert_error(response, 400, "invalid_request")
    assert "Authorization" in error["message"]
    assert key.secret not in response.text


def test_a_key_under_any_query_name_is_refused(api: TestClient, key: Key) -> None:
    assert_error(api.get("/v1/sites", params={"q": key.secret}), 400, "invalid_request")


def test_a_query_credential_is_refused_even_beside_a_valid_header(
    api: TestClient, key: Key
) -> None:
    response = api.post(
        "/v1/sites", params={"api_key": key.secret}, headers=key.headers, json={"slug": "used"}
    )
    assert_error(response, 400, "invalid_request")
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_query_credential_is_refused_on_unauthenticated_routes(api: TestClient, key: Key) -> None:
    assert_error(api.get("/healthz", params={"token": key.secret}), 400, "invalid_request")


@pytest.mark.parametrize("name", ["api_key", "apiKey", "token", "access_token", "authorization"])
def test_a_credential_field_in_the_body_is_refused(api: TestClient, key: Key, name: str) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "used", name: key.secret})
    error = assert_error(response, 400, "invalid_request")
    assert "Authorization" in error["message"]
    assert key.secret not in response.text
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_body_credential_is_never_used_to_authenticate(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", json={"slug": "used", "api_key": key.secret})
    assert_error(response, 400, "invalid_request")
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_body_credential_on_patch_is_refused(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    site = world.site(team)
    response = api.patch(
        f"/v1/sites/{site.id}", headers=key.headers, json={"name": "x", "api_key": key.secret}
    )
    assert_error(response, 400, "invalid_request")
    assert api.get(f"/v1/sites/{site.id}", headers=key.headers).json()["data"]["name"] == "Site"


def test_ordinary_query_parameters_are_fine(api: TestClient, key: Key) -> None:
    assert api.get("/v1/sites", params={"limit": 5}, headers=key.headers).status_code == 200
