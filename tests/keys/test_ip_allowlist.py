"""IP allowlists (v4 and v6) and X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings, load_settings
from forge.db import Database
from tests.factories import World
from tests.keys.helpers import error

PROXY = "10.0.0.5"


@pytest.fixture
def proxied_app(settings: Settings, database: Database) -> FastAPI:
    proxies = load_settings({"FORGE_TRUSTED_PROXIES": "10.0.0.0/24, fd00::/64"}).trusted_proxies
    return create_app(settings.model_copy(update={"trusted_proxies": proxies}), database)


def _client(app: FastAPI, address: str) -> Iterator[TestClient]:
    with TestClient(app, client=(address, 40000)) as client:
        yield client


@pytest.fixture
def via_proxy(proxied_app: FastAPI) -> Iterator[TestClient]:
    yield from _client(proxied_app, PROXY)


@pytest.fixture
def direct(proxied_app: FastAPI) -> Iterator[TestClient]:
    yield from _client(proxied_app, "203.0.113.9")


def test_a_request_from_outside_is_403_ip_not_allowed(direct: TestClient, world: World) -> None:
    key = world.owner_key(ip_allowlist=["198.51.100.0/24"])
    response = direct.get("/v1/api-keys/self", headers=key.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "ip_not_allowed"
    assert "203.0.113.9" in error(response)["message"]


def test_a_request_from_inside_passes(world: World, proxied_app: FastAPI) -> None:
    key = world.owner_key(ip_allowlist=["198.51.100.0/24"])
    for client in _client(proxied_app, "198.51.100.200"):
        assert client.get("/v1/api-keys/self", headers=key.headers).status_code == 200


def test_ipv6_allowlist(world: World, proxied_app: FastAPI) -> None:
    key = world.owner_key(ip_allowlist=["2001:db8:abcd::/48"])
    for client in _client(proxied_app, "2001:db8:abcd:12::1"):
        assert client.get("/v1/api-keys/self", headers=key.headers).status_code == 200
    for client in _client(proxied_app, "2001:db8:abce::1"):
        response = client.get("/v1/api-keys/self", headers=key.headers)
        assert response.status_code == 403
        assert error(response)["code"] == "ip_not_allowed"
    for client in _client(proxied_app, "198.51.100.7"):
        assert client.get("/v1/api-keys/self", headers=key.headers).status_code == 403


def test_forwarded_for_from_a_trusted_proxy_is_believed(
    via_proxy: TestClient, world: World
) -> None:
    key = world.owner_key(ip_allowlist=["198.51.100.0/24"])
    headers = {**key.headers, "X-Forwarded-For": "198.51.100.20"}
    assert via_proxy.get("/v1/api-keys/self", headers=headers).status_code == 200
    v6 = world.owner_key(ip_allowlist=["2001:db8::/32"])
    headers = {**v6.headers, "X-Forwarded-For": "2001:db8::77"}
    assert via_proxy.get("/v1/api-keys/self", headers=headers).status_code == 200


def test_spoofed_forwarded_for_from_an_untrusted_client_is_ignored(
    direct: TestClient, world: World
) -> None:
    key = world.owner_key(ip_allowlist=["198.51.100.0/24"])
    headers = {**key.headers, "X-Forwarded-For": "198.51.100.20"}
    response = direct.get("/v1/api-keys/self", headers=headers)
    assert response.status_code == 403
    assert "203.0.113.9" in error(response)["message"]


def test_spoofed_entries_left_of_the_real_client_are_ignored(
    via_proxy: TestClient, world: World
) -> None:
    """The client forged `198.51.100.20`; the proxy appended the address it really saw."""
    key = world.owner_key(ip_allowlist=["198.51.100.0/24"])
    headers = {**key.headers, "X-Forwarded-For": "198.51.100.20, 203.0.113.50"}
    response = via_proxy.get("/v1/api-keys/self", headers=headers)
    assert response.status_code == 403
    assert "203.0.113.50" in error(response)["message"]


def test_the_allowlist_is_checked_before_the_scope(direct: TestClient, world: World) -> None:
    key = world.owner_key(scopes=["sites:read"], ip_allowlist=["198.51.100.0/24"])
    response = direct.get("/v1/api-keys", headers=key.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "ip_not_allowed"


def test_a_patched_allowlist_holds_on_the_next_request(direct: TestClient, world: World) -> None:
    key = world.owner_key()
    assert direct.get("/v1/api-keys/self", headers=key.headers).status_code == 200
    patched = direct.patch(
        f"/v1/api-keys/{key.id}", headers=key.headers, json={"ip_allowlist": ["192.0.2.0/24"]}
    )
    assert patched.status_code == 200
    assert direct.get("/v1/api-keys/self", headers=key.headers).status_code == 403


def test_an_ipv4_client_on_a_dual_stack_listener_matches_its_ipv4_allowlist(
    world: World, proxied_app: FastAPI
) -> None:
    key = world.owner_key(ip_allowlist=["198.51.100.0/24"])
    for client in _client(proxied_app, "::ffff:198.51.100.7"):
        assert client.get("/v1/api-keys/self", headers=key.headers).status_code == 200
    for client in _client(proxied_app, "::ffff:192.0.2.1"):
        assert client.get("/v1/api-keys/self", headers=key.headers).status_code == 403
