"""Rate limits as a client sees them: headers, 429s, introspection, overrides, bad keys."""

from __future__ import annotations

import itertools

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from forge.ratelimit import service
from forge.ratelimit.limiter import RateLimiter
from tests.factories import World, bearer
from tests.ratelimit.conftest import NOW, pin_clock

HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-bucket",
    "ratelimit-policy",
    "ratelimit",
)


def limiter(app: FastAPI) -> RateLimiter:
    found: RateLimiter = app.state.limiter
    return found


@pytest.fixture
def pinned(app: FastAPI) -> list[int]:
    """The limiter's clock, in µs; tests move it by assigning clock[0]."""
    return pin_clock(app)


def test_every_authenticated_answer_carries_the_headers_and_spends_one(
    api: TestClient, world: World, pinned: list[int]
) -> None:
    team = world.team()
    key = world.owner_key(team)
    viewer = world.key(team, world.member(team, "viewer"), scopes=["teams:read"])
    answers = [
        api.get(f"/v1/teams/{team.id}", headers=key.headers),  # 200
        api.get("/v1/sites/site_01M84SAYFXZ937PWY782SAHZNA", headers=key.headers),  # 404
        api.get("/v1/projects?limit=0", headers=key.headers),  # 422
    ]
    assert [r.status_code for r in answers] == [200, 404, 422]
    for spent, response in enumerate(answers, start=1):
        assert all(name in response.headers for name in HEADERS), response.headers
        assert response.headers["x-ratelimit-bucket"] == "read"
        assert response.headers["x-ratelimit-limit"] == "1000"
        assert response.headers["x-ratelimit-remaining"] == str(1000 - spent)
        assert response.headers["ratelimit-policy"] == '"read";q=1000;w=60'
        assert response.headers["ratelimit"] == f'"read";r={1000 - spent};t=1'
    forbidden = api.get("/v1/projects", headers=viewer.headers)
    assert forbidden.status_code == 403
    assert forbidden.headers["x-ratelimit-remaining"] == "999"


def test_a_refusal_is_429_naming_the_bucket_with_retry_after(
    api: TestClient, world: World, pinned: list[int]
) -> None:
    key = world.owner_key()
    slugs = (f"p{i}" for i in itertools.count())
    created = [
        api.post("/v1/projects", headers=key.headers, json={"slug": next(slugs), "name": "P"})
        for _ in range(5)
    ]
    assert [r.status_code for r in created] == [201] * 5
    refused = api.post("/v1/projects", headers=key.headers, json={"slug": "x", "name": "P"})
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["code"], error["type"], error["bucket"]) == (
        "rate_limited",
        "rate_limit_error",
        "create",
    )
    assert refused.headers["retry-after"] == "12"
    assert refused.headers["x-ratelimit-bucket"] == "create"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == str(NOW // 1_000_000 + 60)
    assert refused.headers["ratelimit"] == '"create";r=0;t=12'
    # Other buckets are untouched; after one interval the bucket admits one more.
    assert api.get("/v1/projects", headers=key.headers).status_code == 200
    pinned[0] += 12_000_000
    again = api.post("/v1/projects", headers=key.headers, json={"slug": "y", "name": "P"})
    assert again.status_code == 201
    assert again.headers["x-ratelimit-remaining"] == "0"


def test_rate_limits_introspection_has_the_seed_body_and_spends_nothing(
    api: TestClient, world: World, pinned: list[int]
) -> None:
    key = world.owner_key()
    api.get("/v1/projects", headers=key.headers)
    first = api.get("/v1/rate-limits", headers=key.headers)
    second = api.get("/v1/rate-limits", headers=key.headers)
    assert first.status_code == 200
    assert first.json()["data"] == second.json()["data"]
    assert set(first.json()) == {"data", "request_id"}
    now = NOW // 1_000_000
    assert first.json()["data"] == {
        "buckets": [
            {"kind": "read", "limit": 1000, "remaining": 999, "reset": now + 1},
            {"kind": "write", "limit": 100, "remaining": 100, "reset": now},
            {"kind": "create", "limit": 5, "remaining": 5, "reset": now},
        ]
    }
    assert "x-ratelimit-remaining" not in first.headers
    after = api.get("/v1/projects", headers=key.headers)
    assert after.headers["x-ratelimit-remaining"] == "998"


def test_keys_are_counted_separately(api: TestClient, world: World, pinned: list[int]) -> None:
    team = world.team()
    one, other = world.owner_key(team), world.owner_key(team)
    for _ in range(3):
        api.get("/v1/projects", headers=one.headers)
    response = api.get("/v1/projects", headers=other.headers)
    assert response.headers["x-ratelimit-remaining"] == "999"


def test_overrides_per_key_win_over_per_team(
    app: FastAPI, api: TestClient, world: World, database: Database, pinned: list[int]
) -> None:
    team = world.team()
    key, sibling = world.owner_key(team), world.owner_key(team)
    with database.session() as session:
        service.set_override(session, "team", team.id, "read", 3)
        service.set_override(session, "key", key.id, "read", 2)
    limiter(app).overrides.invalidate()
    statuses = [api.get("/v1/projects", headers=key.headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    sibling_answers = [api.get("/v1/projects", headers=sibling.headers) for _ in range(4)]
    assert [r.status_code for r in sibling_answers] == [200, 200, 200, 429]
    assert sibling_answers[0].headers["x-ratelimit-limit"] == "3"
    with database.session() as session:
        assert service.clear_overrides(session, "key", key.id) == 1
    limiter(app).overrides.invalidate()
    budgets = api.get("/v1/rate-limits", headers=key.headers).json()["data"]["buckets"]
    assert budgets[0]["limit"] == 3


def test_failed_authentications_per_address_are_limited(
    app: FastAPI, world: World, settings: Settings, pinned: list[int]
) -> None:
    key = world.owner_key()
    guess = bearer("mfk_test_000000000000000000000000000000000000")
    with TestClient(app, client=("203.0.113.9", 40000)) as attacker:
        statuses = [attacker.get("/v1/projects", headers=guess).status_code for _ in range(22)]
        assert statuses == [401] * 20 + [429] * 2
        blocked = attacker.get("/v1/projects", headers=key.headers)
        assert blocked.status_code == 429
        assert blocked.json()["error"]["bucket"] == "auth_failures"
        assert int(blocked.headers["retry-after"]) >= 1
    with TestClient(app, client=("198.51.100.20", 40000)) as elsewhere:
        assert elsewhere.get("/v1/projects", headers=key.headers).status_code == 200
        assert elsewhere.get("/v1/projects", headers=guess).status_code == 401


def test_redis_down_is_survived_and_reported(
    settings: Settings, database: Database, world: World
) -> None:
    down = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "redis_prefix": "unused:"}
    )
    app = create_app(down, database)
    pin_clock(app)
    key = world.owner_key()
    with TestClient(app) as api:
        answers = [api.get("/v1/projects", headers=key.headers) for _ in range(3)]
        assert [r.status_code for r in answers] == [200] * 3
        assert answers[-1].headers["x-ratelimit-remaining"] == "997"
        ready = api.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["data"]["checks"]
    assert checks["database"] == "ok"
    assert checks["rate_limits"].startswith("redis unreachable")


def test_ipv6_guessers_are_counted_per_64(
    app: FastAPI, world: World, settings: Settings, pinned: list[int]
) -> None:
    guess = bearer("mfk_test_000000000000000000000000000000000000")
    statuses = []
    for host in range(21):
        with TestClient(app, client=(f"2001:db8:1:2::{host + 1:x}", 40000)) as attacker:
            statuses.append(attacker.get("/v1/projects", headers=guess).status_code)
    assert statuses == [401] * 20 + [429]
    with TestClient(app, client=("2001:db8:1:3::1", 40000)) as neighbour:
        assert neighbour.get("/v1/projects", headers=guess).status_code == 401
