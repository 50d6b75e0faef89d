"""`forge migrate` brings a database to the newest revision; on PostgreSQL `forge serve`
refuses to start on a schema that is behind the code."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from forge import migrate
from forge.db import Database
from tests.cli.conftest import Forge
from tests.throwaway import postgres_database

POSTGRES = os.environ.get("FORGE_TEST_DATABASE", "sqlite") == "postgresql"


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with postgres_database("test_empty") as url:
        yield url


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL only: SQLite is migrated by serve itself")
def test_serve_refuses_a_stale_postgres_schema_until_migrated(
    forge: Forge, empty_postgres: str
) -> None:
    env = {"FORGE_DATABASE_URL": empty_postgres}
    refused = forge("serve", "--port", "1", env=env)
    assert refused.exit_code != 0
    assert "forge migrate" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert forge("migrate", env=env).exit_code == 0
    database = Database(empty_postgres)
    try:
        assert migrate.is_current(database)
    finally:
        database.dispose()
