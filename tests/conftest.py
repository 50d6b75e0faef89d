"""Test set-up: one database per test worker, built through the migrations.

`FORGE_TEST_DATABASE=sqlite` (default) or `postgresql`; `make test` runs the suite on both.
PostgreSQL gets a throw-away database per worker per run, dropped at the end. Every session
ends with a leak scan (tests/leaks.py): each worker scans its own databases, logs and responses.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge import logs, migrate
from forge.app import create_app
from forge.config import Settings, load_settings
from forge.db import Database
from forge.tenancy.models import Team
from tests import leaks
from tests.factories import Key, SecretsWorld, World, empty_tables
from tests.throwaway import postgres_database

BACKEND = os.environ.get("FORGE_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session", autouse=True)
def leak_scan(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[leaks.LeakScan]:
    """Collects every plaintext the session mints or sets; at its end, fails naming each one
    found where none may be (tests/leaks.py)."""
    scan = leaks.LeakScan(tmp_path_factory.getbasetemp())
    request.config.pluginmanager.register(scan)
    with leaks.collecting(scan.registry, scan.capture):
        yield scan
    request.config.pluginmanager.unregister(scan)
    found = scan.leaks()
    if found:
        pytest.fail(leaks.describe(found, scan.registry), pytrace=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    if BACKEND == "postgresql":
        with postgres_database(f"test_{worker_id}") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'forge.db'}"


@pytest.fixture(scope="session")
def database(database_url: str, leak_scan: leaks.LeakScan) -> Iterator[Database]:
    db = Database(database_url)
    migrate.upgrade(db)
    leaks.install_journal(db)
    yield db
    if BACKEND == "postgresql":
        leaks.spool_postgres(db, leak_scan.spool)  # before the database is dropped
    db.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "database" not in request.fixturenames:
        return
    empty_tables(request.getfixturevalue("database"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    base = load_settings({"FORGE_DATA_DIR": str(tmp_path / "data")})
    # No job worker in the test apps unless a test asks for one (`api_with(worker_in_process=
    # True)`): a background worker would change the jobs other tests look at.
    return base.model_copy(update={"database_url": database_url, "worker_in_process": False})


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=("198.51.100.7", 50000)) as client:
        yield client


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    """`/v1/openapi.json` as the app serves it (tests/documented.py reads it)."""
    doc: dict[str, Any] = api.get("/v1/openapi.json").json()
    return doc


@pytest.fixture
def api_with(settings: Settings, database: Database) -> Iterator[Callable[..., TestClient]]:
    """Clients of apps with changed settings (an in-process worker, short timeouts…)."""
    with contextlib.ExitStack() as stack:

        def make(**changes: object) -> TestClient:
            application = create_app(settings.model_copy(update=changes), database)
            client = TestClient(application, client=("198.51.100.7", 50000))
            return stack.enter_context(client)

        yield make


@pytest.fixture
def world(database: Database) -> World:
    return World(database)


@pytest.fixture
def log_stream(request: pytest.FixtureRequest, leak_scan: leaks.LeakScan) -> Iterator[io.StringIO]:
    """Forge's logs (access lines and errors) captured as JSON lines, restored afterwards."""
    logger = logging.getLogger("forge")
    saved = (logger.handlers[:], logger.level, logger.propagate, logs.access_log.stream)
    stream = io.StringIO()
    logs.configure(stream=stream)
    yield stream
    logger.handlers[:], logger.level, logger.propagate, logs.access_log.stream = saved
    leak_scan.spool.append(f"the logs of {request.node.nodeid}", stream.getvalue().encode())


@pytest.fixture
def team(world: World) -> Team:
    return world.team()


@pytest.fixture
def key(world: World, team: Team) -> Key:
    """An owner's personal key in `team`, with every scope."""
    return world.owner_key(team)


@pytest.fixture
def w(world: World) -> SecretsWorld:
    """A team, its owner's key, a test-mode site and its `production` environment."""
    return SecretsWorld.make(world)
