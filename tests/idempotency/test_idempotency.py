"""Idempotency-Key as a client sees it, and what the store holds."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from starlette.testclient import TestClient

from forge.clock import utcnow
from forge.db import Database
from forge.errors import IdempotencyInProgress
from forge.idempotency import service
from forge.idempotency.models import IdempotencyRecord
from forge.idempotency.service import Caller
from forge.tenancy.models import Project
from tests.factories import Key, World
from tests.idempotency.conftest import REVEALED, Gate
from tests.ratelimit.conftest import pin_clock


def with_key(key: Key, idempotency_key: str) -> dict[str, str]:
    return {**key.headers, "Idempotency-Key": idempotency_key}


def projects(database: Database, slug: str) -> int:
    with database.session() as session:
        count: int = session.scalar(
            select(func.count()).select_from(Project).where(Project.slug == slug)
        )
        return count


def records(database: Database) -> list[IdempotencyRecord]:
    with database.session() as session:
        return list(session.scalars(select(IdempotencyRecord)))


def test_a_retry_replays_the_first_response(
    api: TestClient, world: World, database: Database
) -> None:
    key = world.owner_key()
    headers = with_key(key, "create-web-1")
    first = api.post("/v1/projects", headers=headers, json={"slug": "web", "name": "Web"})
    # Same request, keys in another order: the same request.
    again = api.post("/v1/projects", headers=headers, json={"name": "Web", "slug": "web"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == "application/json"
    assert again.headers["request-id"] != first.headers["request-id"]
    assert projects(database, "web") == 1


def test_a_replay_spends_read_not_create(app: FastAPI, api: TestClient, world: World) -> None:
    pin_clock(app)
    key = world.owner_key()
    headers = with_key(key, "once")
    first = api.post("/v1/projects", headers=headers, json={"slug": "once"})
    replays = [api.post("/v1/projects", headers=headers, json={"slug": "once"}) for _ in range(7)]
    assert first.headers["x-ratelimit-bucket"] == "create"
    assert {r.status_code for r in replays} == {201}
    assert replays[-1].headers["x-ratelimit-bucket"] == "read"
    assert replays[-1].headers["x-ratelimit-remaining"] == "993"
    budgets = api.get("/v1/rate-limits", headers=key.headers).json()["data"]["buckets"]
    assert budgets[2] == {**budgets[2], "kind": "create", "remaining": 4}


def test_the_same_key_for_another_request_is_422(api: TestClient, world: World) -> None:
    key = world.owner_key()
    api.post("/v1/projects", headers=with_key(key, "k"), json={"slug": "one"})
    for path, body in (("/v1/projects", {"slug": "two"}), ("/test/minted", {"slug": "one"})):
        reused = api.post(path, headers=with_key(key, "k"), json=body)
        assert reused.status_code == 422
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
        assert reused.json()["error"]["param"] == "Idempotency-Key"


def test_a_retry_while_the_first_runs_is_409_and_one_resource_is_made(
    app: FastAPI, world: World, database: Database, gate: Gate
) -> None:
    key = world.owner_key()
    headers = with_key(key, "racing")
    gate.armed = True

    async def race() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://forge") as client:
            first = asyncio.create_task(client.post("/test/minted", headers=headers, json=BODY))
            await gate.entered.wait()
            second = await client.post("/test/minted", headers=headers, json=BODY)
            gate.release.set()
            return await first, second

    BODY = {"slug": "raced"}
    first, second = asyncio.run(race())
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_in_progress"
    assert second.headers["retry-after"] == "1"
    assert projects(database, "raced") == 1


def test_racing_claims_let_exactly_one_request_run(database: Database, world: World) -> None:
    team = world.team()
    caller = Caller(team.id, team.id, "test")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        try:
            with database.session() as session:
                result = service.claim(session, caller, "same", "f" * 64, utcnow())
            outcomes.append("claimed" if result is None else "replayed")
        except IdempotencyInProgress:
            outcomes.append("in progress")

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed"] + ["in progress"] * 7


def test_a_revealed_secret_is_never_stored_nor_replayed(
    api: TestClient, world: World, database: Database
) -> None:
    key = world.owner_key()
    headers = with_key(key, "mint-1")
    first = api.post("/test/minted", headers=headers, json={"slug": "minted"})
    assert first.json()["data"]["secret"] == REVEALED
    replay = api.post("/test/minted", headers=headers, json={"slug": "minted"})
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert "secret" not in replay.json()["data"]
    assert replay.json()["data"]["id"] == first.json()["data"]["id"]
    assert replay.headers["location"] == first.headers["location"]
    with database.engine.connect() as connection:
        dump = connection.execute(text("SELECT * FROM idempotency_records")).all()
    assert dump and REVEALED not in repr(dump)


def test_failed_validation_and_authentication_are_not_stored(
    api: TestClient, world: World, database: Database
) -> None:
    key = world.owner_key()
    headers = with_key(key, "fix-and-retry")
    invalid = api.post("/v1/projects", headers=headers, json={"slug": "Not A Slug"})
    assert invalid.status_code == 422
    unknown = api.post(
        "/v1/projects",
        headers={"Authorization": "Bearer mfk_test_000000000000000000000000000000000000"}
        | {"Idempotency-Key": "fix-and-retry"},
        json={"slug": "fixed"},
    )
    assert unknown.status_code == 401
    assert records(database) == []
    fixed = api.post("/v1/projects", headers=headers, json={"slug": "fixed"})
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


def test_an_error_the_route_raised_is_stored_and_replayed(api: TestClient, world: World) -> None:
    key = world.owner_key()
    api.post("/v1/projects", headers=key.headers, json={"slug": "taken"})
    headers = with_key(key, "dup")
    conflict = api.post("/v1/projects", headers=headers, json={"slug": "taken"})
    replay = api.post("/v1/projects", headers=headers, json={"slug": "taken"})
    assert (conflict.status_code, replay.status_code) == (409, 409)
    assert replay.json() == conflict.json()
    assert replay.headers["idempotent-replayed"] == "true"


def test_keys_belong_to_one_principal(api: TestClient, world: World, database: Database) -> None:
    team = world.team()
    alice, bob = world.owner_key(team), world.owner_key(team)
    service_token = world.key(team)
    live = world.key(team, mode="live")
    for number, key in enumerate((alice, bob, service_token, live)):
        answer = api.post(
            "/v1/projects", headers=with_key(key, "shared"), json={"slug": f"p{number}"}
        )
        assert answer.status_code == 201, answer.text
        assert "idempotent-replayed" not in answer.headers
    assert len(records(database)) == 4
    # Two keys of the same person share the person's keys.
    alice_again = world.key(team, _client_of(database, alice))
    replay = api.post("/v1/projects", headers=with_key(alice_again, "shared"), json={"slug": "p0"})
    assert replay.headers["idempotent-replayed"] == "true"


def _client_of(database: Database, key: Key):  # type: ignore[no-untyped-def]
    from forge.keys.models import ApiKey
    from forge.tenancy.models import Client

    with database.session() as session:
        api_key = session.get(ApiKey, key.id)
        assert api_key is not None
        return session.get(Client, api_key.client_id)


@pytest.mark.parametrize("bad", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_400_naming_the_header(api: TestClient, world: World, bad: str) -> None:
    key = world.owner_key()
    answer = api.post("/v1/projects", headers=with_key(key, bad), json={"slug": "p"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "Idempotency-Key"
    ok = api.post("/v1/projects", headers=with_key(key, "x" * 255), json={"slug": "p"})
    assert ok.status_code == 201


def test_after_24_hours_a_key_is_forgotten_and_swept(
    api: TestClient, world: World, database: Database
) -> None:
    key = world.owner_key()
    headers = with_key(key, "daily")
    api.post("/v1/projects", headers=headers, json={"slug": "day-one"})
    with database.session() as session:
        session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    fresh = api.post("/v1/projects", headers=headers, json={"slug": "day-two"})
    assert fresh.status_code == 201
    assert "idempotent-replayed" not in fresh.headers
    with database.session() as session:
        session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert service.sweep(session, utcnow()) == 1
    assert records(database) == []


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(
    api: TestClient, world: World, database: Database
) -> None:
    team = world.team()
    key = world.key(team)
    headers = with_key(key, "orphan")
    same = service.fingerprint("POST", "/v1/projects", b'{"slug": "orphan"}')
    with database.session() as session:
        service.claim(session, Caller(team.id, team.id, "test"), "orphan", same, utcnow())
    running = api.post("/v1/projects", headers=headers, json={"slug": "orphan"})
    assert running.status_code == 409
    with database.session() as session:
        session.execute(
            update(IdempotencyRecord).values(locked_at=utcnow() - service.ABANDONED_AFTER)
        )
    taken = api.post("/v1/projects", headers=headers, json={"slug": "orphan"})
    assert taken.status_code == 201


def test_the_openapi_document_offers_the_header_on_every_post(api: TestClient) -> None:
    document = api.get("/v1/openapi.json").json()
    paths = document["paths"]
    # Every POST made with a key; the signed secret-scanning report is idempotent by itself,
    # and a POST spending `read` is a query (the redirect test call) that stores nothing.
    posts = [
        ops["post"]
        for path, ops in paths.items()
        if "post" in ops
        and path.startswith("/v1")
        and ops["post"].get("security")
        and ops["post"].get("x-forge-bucket") not in ("read", "free")
    ]
    assert len(posts) > 5
    for operation in posts:
        names = [p["name"] for p in operation["parameters"]]
        assert "Idempotency-Key" in names
        assert {"409", "422", "429"} <= set(operation["responses"])
