"""The caller's address (socket, or X-Forwarded-For only via trusted proxies) and key allowlists."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from forge.http import client_ip
from tests.assertions import assert_error
from tests.factories import World

PROXIES = (ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("10.0.0.0/8"))


@pytest.mark.parametrize(
    ("socket", "forwarded", "expected"),
    [
        ("203.0.113.5", "192.0.2.1", "203.0.113.5"),  # untrusted socket: header ignored
        ("198.51.100.7", None, "198.51.100.7"),
        ("198.51.100.7", "192.0.2.1", "192.0.2.1"),
        ("198.51.100.7", "192.0.2.66, 192.0.2.1, 10.1.1.1", "192.0.2.1"),  # rightmost untrusted
        ("198.51.100.7", "garbage", "198.51.100.7"),
        ("198.51.100.7", "10.0.0.1, 10.0.0.2", "10.0.0.1"),
        ("198.51.100.7", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_resolve(socket: str, forwarded: str | None, expected: str) -> None:
    assert client_ip.resolve(socket, forwarded, PROXIES) == expected


def test_allowlisted_address_passes_and_others_get_403(api: TestClient, world: World) -> None:
    team = world.team()
    inside = world.owner_key(team, ip_allowlist=["198.51.100.0/24"])
    outside = world.owner_key(team, ip_allowlist=["203.0.113.0/24", "2001:db8::/32"])
    assert api.get("/v1/sites", headers=inside.headers).status_code == 200
    error = assert_error(api.get("/v1/sites", headers=outside.headers), 403, "ip_not_allowed")
    assert error["type"] == "permission_error"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(api: TestClient, world: World) -> None:
    key = world.owner_key(ip_allowlist=["203.0.113.0/24"])
    response = api.get("/v1/sites", headers={**key.headers, "X-Forwarded-For": "203.0.113.9"})
    assert_error(response, 403, "ip_not_allowed")


@pytest.fixture
def proxied_api(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"trusted_proxies": PROXIES}), database)
    with TestClient(app, client=("198.51.100.7", 50000)) as client:
        yield client


def test_forwarded_for_from_a_trusted_proxy_is_believed(
    proxied_api: TestClient, world: World
) -> None:
    key = world.owner_key(ip_allowlist=["203.0.113.0/24"])
    allowed = {**key.headers, "X-Forwarded-For": "203.0.113.9"}
    assert proxied_api.get("/v1/sites", headers=allowed).status_code == 200
    refused = {**key.headers, "X-Forwarded-For": "203.0.113.9, 192.0.2.1"}
    assert_error(proxied_api.get("/v1/sites", headers=refused), 403, "ip_not_allowed")
