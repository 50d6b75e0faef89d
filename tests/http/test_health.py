"""`/healthz` (the process is up) and `/readyz` (its database answers); no key needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from tests.assertions import data_of


def test_healthz_answers_without_a_key(api: TestClient) -> None:
    assert data_of(api.get("/healthz"))["status"] == "ok"


def test_readyz_is_200_when_the_database_answers(api: TestClient) -> None:
    data = data_of(api.get("/readyz"))
    assert data == {"status": "ready", "checks": {"database": "ok", "rate_limits": "ok"}}


@pytest.fixture(params=["sqlite-missing-dir", "postgresql-closed-port"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (
        f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'forge.db'}"
        if request.param.startswith("sqlite")
        else "postgresql+psycopg://postgres@127.0.0.1:1/forge?connect_timeout=2"
    )
    database = Database(url)
    yield database
    database.dispose()


def test_readyz_is_503_when_the_database_is_unreachable(
    settings: Settings, unreachable: Database
) -> None:
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["data"]["status"] == "unavailable"
        assert body["data"]["checks"]["database"] == "unreachable"
        assert body["request_id"] == response.headers["request-id"]
        assert data_of(client.get("/healthz"))["status"] == "ok", "the process itself is up"


def test_probes_refuse_other_methods(api: TestClient) -> None:
    assert api.post("/healthz").status_code == 405
