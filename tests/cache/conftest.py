"""A team with an owner key and a `production` environment, an app running the job worker
in-process (on both backends), and edges played by the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from forge.db import Database
from tests.factories import Edges, SecretsWorld, World


@dataclass
class CacheWorld(SecretsWorld):
    @property
    def purge_path(self) -> str:
        return f"/v1/sites/{self.site.id}/environments/{self.env.id}/cache/purge"

    @property
    def cache_path(self) -> str:
        return f"/v1/sites/{self.site.id}/environments/{self.env.id}/cache"


@pytest.fixture
def cw(world: World) -> CacheWorld:
    made = SecretsWorld.make(world)
    return CacheWorld(team=made.team, owner=made.owner, site=made.site, env=made.env)


@pytest.fixture
def edges(database: Database) -> Edges:
    return Edges(database)


@pytest.fixture
def working_api(api_with: Callable[..., TestClient]) -> TestClient:
    """The API with its job worker in-process (as on embedded defaults, on both backends)."""
    return api_with(worker_in_process=True)
