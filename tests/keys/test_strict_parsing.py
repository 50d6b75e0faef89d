"""Durations: ASCII digits only, no padding, one maximum applied after conversion."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_error, data_of
from tests.factories import World


@pytest.mark.parametrize("expires_in", ["31622400s", "527040m", "8784h", "366d", "1y"])
def test_every_way_of_writing_the_longest_lifetime_is_accepted(
    api: TestClient, world: World, expires_in: str
) -> None:
    body = {"name": "ci", "scopes": ["sites:read"], "expires_in": expires_in}
    data_of(api.post("/v1/api-keys", json=body, headers=world.owner_key().headers), 201)


@pytest.mark.parametrize(
    "expires_in", ["١d", "1d ", " 1d", "31622401s", "527041m", "367d", "0d", "1.5d", "+1d"]
)
def test_anything_else_is_refused(api: TestClient, world: World, expires_in: str) -> None:
    body = {"name": "ci", "scopes": ["sites:read"], "expires_in": expires_in}
    response = api.post("/v1/api-keys", json=body, headers=world.owner_key().headers)
    assert_error(response, 422, "validation_error", "expires_in")
