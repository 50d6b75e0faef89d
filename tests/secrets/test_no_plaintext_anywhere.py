"""A run that sets values through every route, then looks for them everywhere it could leak:
the whole database (the SQLite file and its WAL; every table's text on PostgreSQL), the logs,
and every response. None may contain a value."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from forge import logs
from forge.db import Database
from forge.models import metadata
from tests.disk import sqlite_file_bytes
from tests.factories import SecretsWorld, World, secrets_path

CANARIES = [
    "canary-v1-set-7d1f0c9b2e",
    "canary-v1-second-41aa8e3f",
    "canary-002-value-9be0c1d2",
    "canary-import-5c3f8a71d0",
    "canary-refused-0a9d6e2b4f",
    "canary-overwrite-e2f1b7c6",
]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure(logging.DEBUG, stream)
    yield stream
    logs.access_log.stream = None
    logging.getLogger("forge").handlers[:] = []


def _database_text(database: Database) -> bytes:
    if database.engine.dialect.name == "sqlite":
        return sqlite_file_bytes(Path(database.engine.url.database or ""))
    chunks: list[str] = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            # Table names come from our own metadata, not from input.
            query = f'SELECT CAST(t AS text) FROM "{table.name}" t'  # noqa: S608
            rows = connection.execute(text(query))
            chunks.extend(row[0] for row in rows)
    return "\n".join(chunks).encode()


def test_no_value_is_ever_stored_logged_or_answered_in_the_clear(
    api: TestClient, world: World, database: Database, log_stream: io.StringIO
) -> None:
    w = SecretsWorld.make(world)
    h = w.owner.headers
    staging = world.environment(w.site, "staging", parent=w.env)
    compat = f"/{w.team.slug}/{w.site.slug}/envs/production/secrets"
    responses = [
        api.put(secrets_path(w.env, "FIRST"), json={"value": CANARIES[0]}, headers=h),
        api.put(secrets_path(w.env, "FIRST"), json={"value": CANARIES[1]}, headers=h),
        api.post(compat, json={"kind": "Secret", "name": "VIA_002"}, headers=h),
        api.put(f"{compat}/VIA_002/value", json={"value": CANARIES[2]}, headers=h),
        api.post(
            secrets_path(staging, "import"),
            json={"dotenv": f"IMPORTED={CANARIES[3]}\nFIRST={CANARIES[0]}"},
            headers=h,
        ),
        api.post(
            secrets_path(staging, "import"),
            json={"dotenv": f"IMPORTED={CANARIES[5]}", "overwrite": True},
            headers=h,
        ),
        # Refused requests carrying a value must not echo it either.
        api.put(secrets_path(w.env, "bad-name"), json={"value": CANARIES[4]}, headers=h),
        api.put(
            secrets_path(w.env, "FIRST"), json={"value": CANARIES[4], "extra": True}, headers=h
        ),
        api.put(secrets_path(w.env, "FIRST"), json={"value": [CANARIES[4]]}, headers=h),
        api.post(
            secrets_path(w.env, "import"),
            json={"dotenv": f"OK=1\n{CANARIES[4]}\n"},
            headers=h,
        ),
        api.put(f"{compat}/UNDECLARED/value", json={"value": CANARIES[4]}, headers=h),
        api.post(secrets_path(w.env, "FIRST") + "/restore", json={"version": 1}, headers=h),
        api.get(secrets_path(w.env, "compare"), params={"with": staging.id}, headers=h),
        api.get(secrets_path(w.env), headers=h),
        api.get(secrets_path(staging), headers=h),
        api.get(secrets_path(w.env, "FIRST"), headers=h),
        api.get(compat, headers=h),
        api.post(f"/v1/sites/{w.site.id}/environments/{staging.id}/deployments", headers=h),
        api.get(f"/v1/sites/{w.site.id}/environments/{staging.id}/deployments", headers=h),
    ]
    assert [r.status_code for r in responses[:6]] == [200, 200, 201, 200, 200, 200]
    assert [r.status_code for r in responses[6:11]] == [422, 422, 422, 422, 404]
    stored = _database_text(database)
    assert b"VIA_002" in stored  # the scan does see what was written in this run
    logged = log_stream.getvalue()
    assert "request" in logged  # the access log was captured
    for canary in CANARIES:
        for response in responses:
            assert canary not in response.text, response.request.url
            assert canary not in str(response.headers)
        assert canary.encode() not in stored, canary
        assert canary.encode().hex() not in stored.decode("latin-1"), canary
        assert canary not in logged, canary
