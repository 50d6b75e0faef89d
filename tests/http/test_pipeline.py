"""The request pipeline: each stage alone, their order, and units of work off the event loop."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Path, Response
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from forge.errors import AuthenticationFailed, InsufficientScope, IpNotAllowed
from forge.http import pipeline
from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope
from forge.http.routing import ForgeRoute
from forge.sites.access import site_resolver
from tests.assertions import assert_error
from tests.conftest import BACKEND
from tests.factories import World, principal_of

# -- each stage alone ------------------------------------------------------------------------


def test_authenticate_refuses_an_unknown_key(database: Database) -> None:
    with pytest.raises(AuthenticationFailed):
        pipeline.authenticate(database, "mfk_test_" + "x" * 40, "198.51.100.7", writes=False)


def test_authenticate_gives_the_keys_principal(database: Database, world: World) -> None:
    key = world.owner_key()
    access = pipeline.authenticate(database, key.secret, "198.51.100.7", writes=False)
    try:
        assert access.principal.key_id == key.id
        assert access.client_ip == "198.51.100.7"
    finally:
        access.finish(failed=False)


def test_the_ip_allowlist_stage_refuses_other_addresses(database: Database, world: World) -> None:
    key = world.owner_key(ip_allowlist=["203.0.113.0/24"])
    principal = principal_of(database, key.secret)
    pipeline.check_ip_allowlist(principal, "203.0.113.9")
    pipeline.check_ip_allowlist(principal, "::ffff:203.0.113.9")
    with pytest.raises(IpNotAllowed):
        pipeline.check_ip_allowlist(principal, "198.51.100.7")


def test_the_scope_stage_refuses_a_missing_scope(database: Database, world: World) -> None:
    key = world.owner_key(scopes=["sites:read"])
    access = Access(database, principal_of(database, key.secret), "198.51.100.7")
    pipeline.check_scope(access, "sites:read")
    pipeline.check_scope(access, None)
    with pytest.raises(InsufficientScope):
        pipeline.check_scope(access, "sites:write")


def test_the_resolve_stage_loads_typed_resources(database: Database, world: World) -> None:
    team = world.team()
    site = world.site(team)
    key = world.key(team, world.member(team))
    access = Access(database, principal_of(database, key.secret), "198.51.100.7")
    pipeline.resolve_resources(access, site_resolver, {"site": site.id})
    assert access.site.id == site.id
    with pytest.raises(LookupError):
        _ = access.environment
    access.finish(failed=False)


def test_buckets_follow_the_method_unless_declared() -> None:
    assert pipeline.bucket_for("GET", None) == "read"
    assert pipeline.bucket_for("HEAD", None) == "read"
    assert pipeline.bucket_for("POST", None) == "create"
    assert pipeline.bucket_for("DELETE", None) == "write"
    assert pipeline.bucket_for("POST", "write") == "write"


# -- the order -------------------------------------------------------------------------------


def test_a_replay_never_answers_a_key_without_the_scope(api: TestClient, world: World) -> None:
    """Two keys of one member share an Idempotency-Key namespace; the narrower key must get the
    route's own refusal, not the stored answer."""
    team = world.team()
    site = world.site(team)
    owner = world.member(team, "owner")
    full = world.key(team, owner)
    narrow = world.key(team, owner, scopes=["environments:read"])
    path = f"/v1/sites/{site.id}/environments"
    sent = {"Idempotency-Key": "create-staging"}
    first = api.post(path, json={"name": "staging"}, headers={**full.headers, **sent})
    assert first.status_code == 201
    replay = api.post(path, json={"name": "staging"}, headers={**narrow.headers, **sent})
    assert replay.status_code == 403
    assert replay.json()["error"]["code"] == "insufficient_scope"
    assert "idempotent-replayed" not in replay.headers


def test_a_replay_never_answers_a_key_pinned_elsewhere(api: TestClient, world: World) -> None:
    team = world.team()
    site, other = world.site(team), world.site(team)
    owner = world.member(team, "owner")
    full = world.key(team, owner)
    pinned = world.key(team, owner, resource=("site", other.id))
    path = f"/v1/sites/{site.id}/environments"
    sent = {"Idempotency-Key": "create-preview"}
    assert api.post(path, json={"name": "preview"}, headers={**full.headers, **sent}).status_code
    replay = api.post(path, json={"name": "preview"}, headers={**pinned.headers, **sent})
    assert replay.status_code == 404
    assert replay.json()["error"]["param"] == "site"
    assert "idempotent-replayed" not in replay.headers
    again = api.post(path, json={"name": "preview"}, headers={**full.headers, **sent})
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")


def test_the_rate_limit_answers_before_the_resource_and_scope_stages(
    api_with: Callable[..., TestClient], world: World
) -> None:
    """Stages 4 and 5 run in the same unit as 1 and 2, before the limiter's spend; what they
    refuse must still come after a 429, so an exhausted key learns nothing about the path."""
    api = api_with(ratelimit_read=1)
    team = world.team()
    site = world.site(team)
    key = world.owner_key(team)
    unscoped = world.owner_key(team, scopes=[])
    assert api.get("/v1/sites", headers=key.headers).status_code == 200
    assert api.get(f"/v1/sites/{site.id}", headers=unscoped.headers).status_code == 403
    assert_error(api.get("/v1/sites/site_nonexistent", headers=key.headers), 429, "rate_limited")
    assert_error(api.get(f"/v1/sites/{site.id}", headers=unscoped.headers), 429, "rate_limited")


def test_a_route_whose_path_parameter_nobody_declares_is_refused() -> None:
    router = APIRouter(route_class=ForgeRoute)
    with pytest.raises(TypeError, match="resolves"):

        @router.get("/v1/things/{thing}")
        def get_thing(access: Annotated[Access, Scoped("sites:read")]) -> Envelope[str]:
            return Envelope(data="")


def test_resolver_path_parameters_are_documented(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/v1/sites/{site}"]["get"]
    declared = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
    assert declared == ["site"]


# -- units of work ---------------------------------------------------------------------------


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write lock")
def test_a_read_only_request_takes_no_sqlite_write_lock(
    api: TestClient, world: World, database: Database
) -> None:
    team = world.team()
    env = world.environment(world.site(team))
    key = world.key(team, world.member(team))
    holder = sqlite3.connect(database.engine.url.database or "", isolation_level=None)
    holder.execute("PRAGMA busy_timeout=0")
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        started = time.monotonic()
        got = api.get(f"/v1/sites/{env.site_id}/environments/{env.id}", headers=key.headers)
        assert got.status_code == 200
        assert time.monotonic() - started < 5  # never waited out the 10 s busy timeout
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def held_app(app: FastAPI, database_url: str) -> Iterator[tuple[FastAPI, threading.Event]]:
    """The app plus a route whose statement waits on an advisory lock the test holds."""
    entered = threading.Event()
    router = APIRouter(route_class=ForgeRoute)

    @router.get("/test/held/{site}")
    def held(access: Annotated[Access, Scoped("sites:read", site_resolver)]) -> Envelope[str]:
        entered.set()
        access.session.execute(text("SELECT pg_advisory_xact_lock_shared(4242)"))
        return Envelope(data="released")

    app.include_router(router)
    yield app, entered


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL runs units in worker threads")
def test_a_slow_statement_does_not_delay_a_concurrent_request(
    held_app: tuple[FastAPI, threading.Event], world: World, database_url: str
) -> None:
    app, entered = held_app
    team = world.team()
    site = world.site(team)
    key = world.key(team, world.member(team))
    blocker = create_engine(database_url)
    with blocker.connect() as holding:
        holding.execute(text("SELECT pg_advisory_lock(4242)"))

        async def race() -> tuple[int, bool, int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://forge") as client:
                slow = asyncio.create_task(
                    client.get(f"/test/held/{site.id}", headers=key.headers, timeout=60)
                )
                deadline = time.monotonic() + 30
                while not entered.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                assert entered.is_set(), "the held request never reached its statement"
                fast = await client.get(f"/v1/sites/{site.id}", headers=key.headers)
                slow_still_waiting = not slow.done()
                await asyncio.to_thread(holding.execute, text("SELECT pg_advisory_unlock(4242)"))
                return fast.status_code, slow_still_waiting, (await slow).status_code

        fast_status, slow_was_waiting, slow_status = asyncio.run(race())
    blocker.dispose()
    assert fast_status == 200
    assert slow_was_waiting
    assert slow_status == 200


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung database)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.skipif(BACKEND != "postgresql", reason="a networked database")
def test_a_database_that_never_answers_is_a_prompt_503(
    settings: Settings, silent_port: int, world: World
) -> None:
    key = world.owner_key()  # made in the real database; the app talks to a silent one
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/forge"
    database = Database(url)
    app = create_app(settings.model_copy(update={"database_url": url}), database)
    try:
        with TestClient(app) as client:
            started = time.monotonic()
            ready = client.get("/readyz")
            assert time.monotonic() - started < 2
            assert ready.status_code == 503
            assert ready.json()["data"]["checks"]["database"] == "unreachable"
            started = time.monotonic()
            got = client.get("/v1/sites", headers=key.headers)
            assert time.monotonic() - started < 8
            assert got.status_code == 503
            assert got.json()["error"]["code"] == "service_unavailable"
            assert got.headers["retry-after"] == "1"
    finally:
        database.dispose()


# -- route parameters ------------------------------------------------------------------------


TwinSite = Annotated[Access, Scoped("sites:read", site_resolver)]


@pytest.fixture
def twin_app(app: FastAPI) -> FastAPI:
    """Two routes alike but for a query parameter: the first takes path parameters only (its
    handler validates them without FastAPI's general solver), the second goes through it."""
    router = APIRouter(route_class=ForgeRoute)

    @router.get("/test/direct/{site}/{n}")
    async def direct(
        access: TwinSite, n: Annotated[int, Path(ge=1)], response: Response
    ) -> Envelope[int]:
        response.headers["x-seen"] = access.site.id
        response.status_code = 203
        return Envelope(data=n)

    @router.get("/test/solved/{site}/{n}")
    async def solved(
        access: TwinSite, n: Annotated[int, Path(ge=1)], response: Response, q: str | None = None
    ) -> Envelope[int]:
        response.headers["x-seen"] = access.site.id
        response.status_code = 203
        return Envelope(data=n)

    app.include_router(router)
    return app


def _without_request_id(response: httpx.Response) -> tuple[int, dict[str, str], object]:
    # The second request has spent one more unit: its rate-limit headers differ, rightly.
    headers = {
        k: v
        for k, v in response.headers.items()
        if k != "request-id" and not k.startswith(("ratelimit", "x-ratelimit"))
    }
    body = response.json()
    body.pop("request_id")
    return response.status_code, headers, body


@pytest.mark.parametrize("n", ["7", "0", "seven", "1.5"])
def test_a_route_of_path_parameters_only_answers_as_fastapis_solver_does(
    twin_app: FastAPI, world: World, n: str
) -> None:
    team = world.team()
    site = world.site(team)
    key = world.key(team, world.member(team))
    with TestClient(twin_app) as client:
        direct = client.get(f"/test/direct/{site.id}/{n}", headers=key.headers)
        solved = client.get(f"/test/solved/{site.id}/{n}", headers=key.headers)
    assert direct.status_code == (203 if n == "7" else 422)
    assert _without_request_id(direct) == _without_request_id(solved)
    if n == "7":
        assert direct.headers["x-seen"] == site.id
        assert direct.json()["data"] == 7
    else:
        assert_error(direct, 422, "validation_error", "n")
