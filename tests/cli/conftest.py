"""The operator CLI run in-process against the test database (the one the `api` fixture uses)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from forge.cli.main import app
from forge.db import Database


@dataclass
class Forge:
    env: dict[str, str]

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env={**self.env, **(env or {})})

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)  # exactly one JSON document, nothing else


@pytest.fixture
def forge(database: Database, database_url: str, tmp_path: Path) -> Forge:
    return Forge(
        env={
            "FORGE_DATA_DIR": str(tmp_path / "data"),
            "FORGE_DATABASE_URL": database_url,
            "FORGE_REDIS_URL": "",
            "FORGE_RATELIMIT_READ": "",
            "FORGE_RATELIMIT_WRITE": "",
            "FORGE_RATELIMIT_CREATE": "",
            "FORGE_TRUSTED_PROXIES": "",
            "FORGE_MAX_BODY_BYTES": "",
        }
    )
