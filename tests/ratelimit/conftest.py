"""Every test here runs on both backends: in-process, and Redis under a per-test key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi import FastAPI

from forge.config import Settings

REDIS_URL = os.environ.get("FORGE_TEST_REDIS", "redis://127.0.0.1:6379/0")
# Against the real, reachable Redis the limiter waits this long for an answer: a reply that a
# loaded machine delays past the production default (0.25 s) must not switch a test to
# in-process counting half-way (it did: the Redis half of test_http.py failed now and then).
# Tests of an unreachable or silent Redis use their own short timeout.
PATIENT_SECONDS = 30.0
NOW = 1_800_000_000_000_000  # µs


def pin_clock(app: FastAPI) -> list[int]:
    """Count the app's rate limits on a clock that moves only when a test moves it (µs):
    exact counts then do not depend on how fast the machine runs the test."""
    clock = [NOW]
    app.state.limiter.clock = lambda: clock[0]
    return clock


def redis_prefix() -> str:
    return f"forge-test-{uuid.uuid4().hex}:"


def forget_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["in-process", "redis"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def settings(settings: Settings, backend_kind: str) -> Iterator[Settings]:
    if backend_kind == "in-process":
        yield settings
        return
    prefix = redis_prefix()
    yield settings.model_copy(
        update={
            "redis_url": REDIS_URL,
            "redis_prefix": prefix,
            "redis_timeout_seconds": PATIENT_SECONDS,
        }
    )
    forget_prefix(prefix)
