"""A team with an owner key and a `production` environment, an app running the job worker
in-process (on both backends), and edges played by the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from forge.db import Database
from tests.factories import Edges, SecretsWorld, World

EDGE_LEASE_SECONDS = 600


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
def api(api_with: Callable[..., TestClient]) -> TestClient:
    """The API without a worker (jobs stay queued), edges live for 10 minutes."""
    return api_with(edge_lease_seconds=EDGE_LEASE_SECONDS)


@pytest.fixture
def working_api(api_with: Callable[..., TestClient]) -> TestClient:
    """The API with its job worker in-process (as on embedded defaults, on both backends).
    Edges stay live for 10 minutes without a heartbeat, so a slow machine never turns a
    test's edge "down" behind its back; tests age a heartbeat past that to make one down."""
    return api_with(worker_in_process=True, edge_lease_seconds=EDGE_LEASE_SECONDS)
