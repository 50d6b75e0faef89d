"""The app both campaigns drive, and its caller: a team owner's key with every scope."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from tests.factories import SecretsWorld, World


@pytest.fixture
def fuzz_app(settings: Settings, database: Database) -> FastAPI:
    # Rate limits are tested elsewhere; here they would only turn the run into 429s.
    generous = settings.model_copy(
        update={
            "ratelimit_read": 10**6,
            "ratelimit_write": 10**6,
            "ratelimit_create": 10**6,
            "ratelimit_auth_failures": 10**6,
        }
    )
    return create_app(generous, database)


@pytest.fixture
def owner(world: World) -> SecretsWorld:
    return SecretsWorld.make(world)
