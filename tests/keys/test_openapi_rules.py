"""A key's body schemas in `/v1/openapi.json` admit exactly what the server accepts: an empty
scope list and a zero lifetime are refused by both, a duration's bounds after conversion are a
pattern per unit, an allowlist entry is a CIDR pattern, a pin names exactly one id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.documented import (
    assert_documented,
    body_schema,
    matches,
    validator,
)
from tests.factories import World


def test_an_empty_scope_list_and_a_zero_lifetime_are_schema_invalid_and_refused(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    update = validator(document, body_schema(document, "KeyUpdate"))
    for body, param in (({"scopes": []}, "scopes"), ({"expires_in": "0d"}, "expires_in")):
        assert not update.is_valid(body), body
        response = api.patch(f"/v1/api-keys/{key.id}", headers=key.headers, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["param"] == param
        assert_documented(document, "PATCH", "/v1/api-keys/{id}", response)


def _around(limit: int) -> list[str]:
    """Amounts at a unit's bounds, with leading zeros up to `parse`'s 9 digits and past them."""
    plain = [str(n) for n in {0, 1, max(limit - 1, 0), limit, limit + 1, 10 * limit + 9}]
    return (
        plain
        + [f"0{n}" for n in plain]
        + [n.zfill(9) for n in plain]
        + [n.zfill(10) for n in plain]
    )


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
ODD = ["", "d", "1", "1D", "1.5d", "-1d", "+1d", " 1d", "1d ", "90d\n", "\u0661d", "1dd", "P1D"]


def _durations(longest_seconds: int) -> list[str]:
    return ODD + [
        amount + unit
        for unit, seconds in UNITS.items()
        for amount in _around(longest_seconds // seconds)
    ]


@pytest.fixture
def generous(api_with: Callable[..., TestClient]) -> TestClient:
    """A client of an app whose rate limits a sweep of a hundred requests never reaches."""
    return api_with(ratelimit_write=10**6, ratelimit_create=10**6)


def _accepted(api: TestClient, path: str, headers: dict[str, str], body: dict[str, str]) -> bool:
    response = api.request(
        "PATCH" if "roll" not in path else "POST", path, headers=headers, json=body
    )
    if response.status_code == 200:
        return True
    # Refused: a validation error, never another kind of answer.
    assert response.status_code == 422, response.text
    return False


def test_a_lifetime_is_schema_valid_exactly_when_accepted(
    generous: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    schema = body_schema(document, "KeyUpdate")["properties"]["expires_in"]["anyOf"][0]
    path = f"/v1/api-keys/{key.id}"
    wrong = [
        value
        for value in _durations(366 * 86400)
        if matches(schema, value) != _accepted(generous, path, key.headers, {"expires_in": value})
    ]
    assert wrong == []
    create = body_schema(document, "KeyCreate")["properties"]["expires_in"]
    assert (create["pattern"], create["maxLength"]) == (schema["pattern"], schema["maxLength"])
    assert create["default"] == "90d"


def test_a_grace_is_schema_valid_exactly_when_accepted(
    generous: TestClient, world: World, document: dict[str, Any]
) -> None:
    schema = body_schema(document, "KeyRoll")["properties"]["grace"]
    assert schema["default"] == "1d"
    wrong = []
    for value in _durations(7 * 86400):
        key = world.owner_key()  # an accepted roll with grace 0s ends the caller's secret
        path = f"/v1/api-keys/{key.id}/roll"
        if matches(schema, value) != _accepted(generous, path, key.headers, {"grace": value}):
            wrong.append(value)
    assert wrong == []


CIDRS = [
    "203.0.113.0/24",
    "203.0.113.7",
    "0.0.0.0/0",
    "2001:db8::/32",
    "::1",
    "::",
    "::ffff:203.0.113.7/128",
    "1:2:3:4:5:6:7::",
    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
    "10.0.0.0/33",
    "10.0.0.0/08",
    "010.0.0.1",
    "10.0.0.0/255.0.0.0",
    " 10.0.0.0/8",
    "10.0.0.0/8\n",
    "::1/129",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "office",
    "",
]


@pytest.mark.parametrize("entry", CIDRS)
def test_an_allowlist_entry_is_schema_valid_exactly_when_accepted(
    api: TestClient, world: World, document: dict[str, Any], entry: str
) -> None:
    key = world.owner_key()
    items = body_schema(document, "KeyCreate")["properties"]["ip_allowlist"]["items"]
    body = {"name": "bot", "scopes": ["sites:read"], "ip_allowlist": [entry]}
    response = api.post("/v1/api-keys", headers=key.headers, json=body)
    assert response.status_code == (201 if matches(items, entry) else 422), response.text
    assert_documented(document, "POST", "/v1/api-keys", response)


def test_a_pin_names_exactly_one_resource_in_the_schema_too(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    pin = validator(document, body_schema(document, "Pin"))
    for resource in ({}, {"site": None}, {"site": "site_" + "0" * 26, "env": "env_" + "0" * 26}):
        assert not pin.is_valid(resource), resource
        body = {"name": "bot", "scopes": ["sites:read"], "resource": resource}
        response = api.post("/v1/api-keys", headers=key.headers, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["param"] == "resource"
