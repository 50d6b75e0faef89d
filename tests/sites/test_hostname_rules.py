"""Hostnames are DNS names (no IP literal, no padding), and a taken one says nothing of whose."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.assertions import assert_error, data_of
from tests.factories import World


@pytest.mark.parametrize(
    "hostname",
    ["127.0.0.1", "10.0.0.1.", "::1", "[::1]", "localhost", "ex ample.com", "shop.例え.jp"],
)
def test_ip_literals_and_non_dns_names_are_refused(
    api: TestClient, world: World, hostname: str
) -> None:
    key = world.owner_key()
    team_site = data_of(
        api.post("/v1/sites", json={"slug": "shop", "name": "Shop"}, headers=key.headers), 201
    )
    body = {"name": "prod", "hostnames": [hostname]}
    response = api.post(f"/v1/sites/{team_site['id']}/environments", json=body, headers=key.headers)
    error = assert_error(response, 422, "validation_error")
    assert error["param"].startswith("hostnames")


def test_a_hostname_held_by_another_team_answers_409_revealing_nothing(
    api: TestClient, world: World
) -> None:
    ours, theirs = world.owner_key(), world.owner_key()
    for key in (theirs, ours):
        site = data_of(
            api.post("/v1/sites", json={"slug": "shop", "name": "S"}, headers=key.headers), 201
        )
        body = {"name": "prod", "hostnames": ["Shop.Example.com."]}
        response = api.post(f"/v1/sites/{site['id']}/environments", json=body, headers=key.headers)
    error = assert_error(response, 409, "conflict", "hostnames")
    assert error["message"] == "Hostname 'shop.example.com' is not available."
