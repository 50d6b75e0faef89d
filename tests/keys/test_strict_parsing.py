"""Durations: ASCII digits only, no padding, one maximum applied after conversion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from forge.errors import ValidationFailed
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


@pytest.mark.parametrize("name", ["\u0000", "a\tb", "a\r\nb", "\x1b[31mred", "del\x7f"])
def test_control_characters_in_a_name_are_refused(api: TestClient, world: World, name: str) -> None:
    body = {"name": name, "scopes": ["sites:read"]}
    response = api.post("/v1/api-keys", json=body, headers=world.owner_key().headers)
    assert_error(response, 422, "validation_error", "name")


@pytest.mark.parametrize(
    "moment", ["0.5", "99999999999", "1700000000", "2026-06-01", "2026-06-01T00:00:00"]
)
def test_times_are_rfc_3339_only(api: TestClient, world: World, moment: str) -> None:
    key = world.owner_key()
    for path, param in (
        ("/v1/audit-events", "since"),
        ("/v1/audit-events", "until"),
        ("/v1/api-keys", "expiring_before"),
    ):
        response = api.get(path, params={param: moment}, headers=key.headers)
        assert_error(response, 422, "validation_error", param)
    ok = api.get(
        "/v1/audit-events", params={"since": "2026-06-01T00:00:00.5+02:00"}, headers=key.headers
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("days", [0, 367])
def test_the_service_keeps_the_same_lifetime_rule_as_the_api(
    api: TestClient, world: World, days: int
) -> None:
    """The operator CLI mints through the service, not a body: the same bound, the same words."""
    body = {"name": "ci", "scopes": ["sites:read"], "expires_in": f"{days}d"}
    response = api.post("/v1/api-keys", json=body, headers=world.owner_key().headers)
    api_message = assert_error(response, 422, "validation_error", "expires_in")["message"]
    with pytest.raises(ValidationFailed) as refused:
        world.key(world.team(), ttl=timedelta(days=days))
    assert refused.value.param == "expires_in"
    assert refused.value.message.removeprefix("expires_in ").rstrip(".") in api_message
