"""A key's secret appears in its minting and nowhere else: not the database, logs or responses."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import text
from starlette.testclient import TestClient

from forge.db import Database
from forge.models import metadata
from forge.tenancy.models import Team
from tests.assertions import assert_error
from tests.disk import sqlite_file_bytes
from tests.factories import Key, World


def _exercise(api: TestClient, world: World, team: Team, key: Key) -> list[bytes]:
    """A run of ordinary and failing requests; returns every response's bytes and headers."""
    seen: list[bytes] = []

    def call(method: str, path: str, **options: object) -> dict[str, object]:
        response = api.request(method, path, **options)  # type: ignore[arg-type]
        seen.append(response.content + str(dict(response.headers)).encode())
        return response.json() if response.content else {}

    site = call("POST", "/v1/sites", headers=key.headers, json={"slug": "leak-check"})["data"]
    site_id = site["id"]  # type: ignore[index]
    call("GET", "/v1/sites", headers=key.headers)
    call("GET", f"/v1/sites/{site_id}", headers=key.headers)
    call("PATCH", f"/v1/sites/{site_id}", headers=key.headers, json={"name": "Renamed"})
    env = call(
        "POST", f"/v1/sites/{site_id}/environments", headers=key.headers, json={"name": "prod"}
    )["data"]
    call("GET", f"/v1/sites/{site_id}/environments/{env['id']}", headers=key.headers)  # type: ignore[index]
    call("GET", f"/v1/teams/{team.id}", headers=key.headers)
    call("GET", "/v1/projects", headers=key.headers)
    call("POST", "/v1/projects", headers=key.headers, json={"slug": "p"})
    call("GET", "/v1/openapi.json")
    # failures that handle the secret
    call("GET", "/v1/sites", params={"api_key": key.secret})
    call("POST", "/v1/sites", headers=key.headers, json={"slug": "x", "token": key.secret})
    call("POST", "/v1/sites", headers=key.headers, json={"slug": key.secret})
    call("GET", "/v1/sites", headers={"Authorization": f"Basic {key.secret}"})
    call("GET", "/v1/sites", headers={"Authorization": f"Bearer {key.secret}x"})
    call("GET", "/v1/sites", params={"limit": key.secret}, headers=key.headers)
    call("PUT", "/v1/sites", headers=key.headers)
    world.revoke(key)
    call("GET", "/v1/sites", headers=key.headers)
    return seen


def _fragments(key: Key) -> list[bytes]:
    """The whole secret and its random part (what the family/mode prefix does not give away)."""
    return [key.secret.encode(), key.secret.split("_", 2)[2].encode()]


def _database_text(database: Database) -> bytes:
    dumped: list[str] = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                dumped.append(repr(tuple(row)))
    return "\n".join(dumped).encode()


def _sqlite_files(database: Database) -> bytes:
    if not database.url.startswith("sqlite"):
        return b""
    return sqlite_file_bytes(Path(database.url.removeprefix("sqlite:///")))


def test_a_secret_never_reaches_the_database_logs_or_later_responses(
    api: TestClient, world: World, database: Database, log_stream: io.StringIO
) -> None:
    team = world.team()
    key = world.owner_key(team)
    service = world.service_key(team)
    responses = _exercise(api, world, team, key)
    api.get("/v1/sites", headers=service.headers)
    stored = _database_text(database) + _sqlite_files(database)
    logged = log_stream.getvalue().encode()
    assert logged.count(b'"logger":"forge.access"') >= len(responses)
    for secret in (key, service):
        for fragment in _fragments(secret):
            assert fragment not in stored
            assert fragment not in logged
            assert not [r for r in responses if fragment in r]


def test_a_key_pasted_into_a_path_is_not_logged(
    api: TestClient, world: World, log_stream: io.StringIO
) -> None:
    key = world.owner_key()
    response = api.get(f"/v1/sites/{key.secret}", headers=key.headers)
    assert_error(response, 404, "not_found", "site")  # its message shows the prefix only
    assert key.secret.split("_", 2)[2] not in log_stream.getvalue()


def test_a_key_sent_as_the_version_is_not_echoed(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": key.secret})
    assert response.status_code == 400
    assert key.secret.split("_", 2)[2] not in response.text


def test_the_database_keeps_the_hash_and_the_public_prefix(
    world: World, database: Database
) -> None:
    import hashlib

    key = world.owner_key()
    digest = hashlib.sha256(key.secret.encode()).hexdigest()
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT secret_hash, prefix FROM key_secrets WHERE key_id = :id"), {"id": key.id}
        ).all()
    assert [tuple(r) for r in rows] == [(digest, key.prefix)]
    assert key.secret.startswith(key.prefix) and len(key.prefix) == len("mfk_test_") + 4
