"""Only Forge decides the client address, from FORGE_TRUSTED_PROXIES, in every server process
`forge serve` starts: uvicorn's own belief in X-Forwarded-For from 127.0.0.1 is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from forge.db import Database
from tests.assertions import assert_error
from tests.factories import World
from tests.served import ForgeServer

FORGED = {"X-Forwarded-For": "203.0.113.5"}


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_forwarded_for_from_localhost_is_ignored_without_trusted_proxies(
    database_url: str, database: Database, world: World, tmp_path: Path, workers: int
) -> None:
    key = world.owner_key(ip_allowlist=["203.0.113.0/24"])
    with ForgeServer(database_url, tmp_path / "data", workers=workers) as server:
        for _ in range(4):  # several requests: each worker process answers some
            response = server.http.get("/v1/sites", headers={**key.headers, **FORGED})
            assert_error(response, 403, "ip_not_allowed")
            assert "203.0.113.5" not in response.text


def test_failed_authentications_count_against_the_socket_address(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    env = {"FORGE_RATELIMIT_AUTH_FAILURES": "3"}
    with ForgeServer(database_url, tmp_path / "data", env=env) as server:
        statuses = [
            server.http.get(
                "/v1/sites",
                headers={
                    "Authorization": "Bearer mfk_test_wrong",
                    "X-Forwarded-For": f"192.0.2.{n}",
                },
            ).status_code
            for n in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]


def test_forwarded_for_is_believed_from_a_configured_proxy(
    database_url: str, database: Database, world: World, tmp_path: Path
) -> None:
    key = world.owner_key(ip_allowlist=["203.0.113.0/24"])
    env = {"FORGE_TRUSTED_PROXIES": "127.0.0.1/32"}
    with ForgeServer(database_url, tmp_path / "data", env=env) as server:
        response = server.http.get("/v1/sites", headers={**key.headers, **FORGED})
    assert response.status_code == 200, response.text
