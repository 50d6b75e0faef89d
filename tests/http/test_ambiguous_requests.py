"""Requests a hostile or confused client sends: a trailing slash, two Authorization headers,
control characters in path segments, X-API-Key, a body-less POST to nowhere."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_error
from tests.factories import SecretsWorld, World


@pytest.mark.parametrize("path", ["/v1/sites/", "/v1/api-keys/self/", "/healthz/", "/v1/"])
def test_a_trailing_slash_is_a_404_never_a_redirect(
    api: TestClient, world: World, path: str
) -> None:
    key = world.owner_key()
    for headers in ({"Host": "evil.example.com"}, {**key.headers, "Host": "evil.example.com"}):
        response = api.get(path, headers=headers, follow_redirects=False)
        assert_error(response, 404, "not_found")
        assert "location" not in response.headers
        assert "evil.example.com" not in response.text


def test_unknown_paths_are_404_in_the_error_shape_whatever_the_method(api: TestClient) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert_error(api.request(method, "/nothing/here"), 404, "not_found")
        assert_error(api.request(method, "/v1/nothing"), 404, "not_found")


def test_two_authorization_headers_are_refused(api: TestClient, world: World) -> None:
    good, other = world.owner_key(), world.owner_key()
    for pair in ((good, other), (good, good)):
        headers = [("Authorization", f"Bearer {k.secret}") for k in pair]
        response = api.get("/v1/sites", headers=headers)
        assert_error(response, 400, "invalid_request", "Authorization")
    # The direct GET path decides the same.
    headers = [("Authorization", f"Bearer {good.secret}"), ("Authorization", "Bearer x")]
    assert_error(api.get("/v1/api-keys/self", headers=headers), 400, "invalid_request")


def test_x_api_key_on_v1_gets_a_401_that_says_what_v1_reads(api: TestClient) -> None:
    error = assert_error(api.get("/v1/sites", headers={"X-API-Key": "abc"}), 401, "authentication")
    assert "Authorization: Bearer" in error["message"] and "X-API-Key" in error["message"]


@pytest.mark.parametrize("segment", ["%09", "%0D", "%0A", "a%09b"])
def test_the_seed_002_surface_keeps_its_error_shape_with_control_characters(
    api: TestClient, world: World, segment: str
) -> None:
    w = SecretsWorld.make(world)
    for path, status in (
        (f"/x/{segment}/envs/y/secrets", 404),
        (f"/{w.team.slug}/{w.site.slug}/envs/{segment}/secrets", 404),
        (f"/{w.team.slug}/{w.site.slug}/envs/production/secrets/{segment}", 422),  # a bad name
    ):
        for headers in ({}, w.owner.headers):
            response = api.get(path, headers=headers)
            body = response.json()
            assert set(body) == {"error", "code"}, (path, body)
            assert response.status_code == (status if headers else 401), body
