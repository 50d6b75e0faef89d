"""The envelope, request ids and API versions every response carries."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from forge.http import versions
from tests.assertions import assert_error, data_of
from tests.factories import World

LATEST = "2026-06-23"


def test_an_unknown_version_is_refused_and_names_the_header(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": "2025-01-01"})
    error = assert_error(response, 400, "invalid_version", param="Forge-Version")
    assert "2025-01-01" in error["message"] and LATEST in error["message"]
    assert response.headers["forge-version"] == LATEST


@pytest.mark.parametrize("version", ["latest", "2026-06-23 ", "20260623", "2026-6-23"])
def test_versions_are_matched_exactly(api: TestClient, world: World, version: str) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": version})
    assert_error(response, 400, "invalid_version")


def test_an_unknown_version_is_refused_before_authentication(api: TestClient) -> None:
    response = api.get("/v1/sites", headers={"Forge-Version": "1999-01-01"})
    assert_error(response, 400, "invalid_version")


def test_the_version_in_force_is_echoed(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": LATEST})
    assert response.status_code == 200
    assert response.headers["forge-version"] == LATEST


def test_a_missing_version_means_the_latest(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers=key.headers)
    assert response.status_code == 200
    assert response.headers["forge-version"] == versions.LATEST == LATEST


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/sites"), ("GET", "/v1/nowhere"), ("DELETE", "/v1/sites"), ("GET", "/healthz")],
)
def test_errors_and_successes_all_carry_version_and_request_id(
    api: TestClient, method: str, path: str
) -> None:
    response = api.request(method, path)
    assert response.headers["forge-version"] == LATEST
    assert response.headers["request-id"] == response.json()["request_id"]


def test_success_is_the_data_envelope(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    response = api.get(f"/v1/teams/{team.id}", headers=key.headers)
    body = response.json()
    assert set(body) == {"data", "request_id"}
    assert body["data"]["id"] == team.id
    assert data_of(response)["object"] == "team"


def test_lists_add_has_more(api: TestClient, world: World) -> None:
    key = world.owner_key()
    body = api.get("/v1/sites", headers=key.headers).json()
    assert set(body) == {"data", "has_more", "request_id"}
    assert body["data"] == [] and body["has_more"] is False


def test_every_response_gets_a_fresh_request_id(api: TestClient, world: World) -> None:
    key = world.owner_key()
    ids = {api.get("/v1/sites", headers=key.headers).headers["request-id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(i.startswith("req_") and len(i) == len("req_") + 26 for i in ids)


def test_a_client_supplied_request_id_is_not_trusted(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Request-Id": "req_forged"})
    assert response.headers["request-id"] != "req_forged"
    assert response.json()["request_id"] == response.headers["request-id"]


def test_timestamps_are_rfc3339_utc(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    created = data_of(api.get(f"/v1/teams/{team.id}", headers=key.headers))["created_at"]
    assert created.endswith("Z") and created[10] == "T" and len(created) == 20


def test_head_is_answered_like_get_without_a_body(api: TestClient, world: World) -> None:
    assert api.head("/healthz").status_code == 200
    key = world.owner_key()
    response = api.head("/v1/sites", headers=key.headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["request-id"].startswith("req_")


def test_an_empty_version_is_refused_naming_the_header(api: TestClient, world: World) -> None:
    # The document's enum excludes "": an empty header is a mistake, not "the latest".
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": ""})
    error = assert_error(response, 400, "invalid_version", param="Forge-Version")
    assert error["message"] == (
        f"Forge-Version is empty; send one of {LATEST}, or omit the header for the latest."
    )
