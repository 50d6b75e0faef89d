"""Per-secret last use and per-minute usage events, kept in memory and flushed in batches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.testclient import TestClient

from forge.app import create_app
from forge.audit.models import AuditEvent
from forge.clock import utcnow
from forge.config import Settings
from forge.db import Database
from forge.keys import expiry, usage
from forge.keys.models import ApiKey, KeySecret
from tests.factories import Key, World, principal_of
from tests.keys.helpers import bearer

CLIENT_IP = "198.51.100.7"  # what the `api` fixture's requests come from


@pytest.fixture
def slow_app(settings: Settings, database: Database) -> FastAPI:
    """Flushes only at shutdown within a test's lifetime."""
    return create_app(settings.model_copy(update={"key_usage_flush_seconds": 3600}), database)


def _secret(database: Database, key: Key) -> KeySecret:
    with database.session() as session:
        return session.scalars(select(KeySecret).where(KeySecret.key_id == key.id)).one()


def _used_events(database: Database, prefix: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == "key.used")
    if prefix is not None:
        stmt = stmt.where(AuditEvent.key_prefix == prefix)
    with database.session() as session:
        return list(session.scalars(stmt))


def _serve(app: FastAPI, key: Key, requests: int) -> Iterator[TestClient]:
    with TestClient(app, client=(CLIENT_IP, 1234)) as client:
        for _ in range(requests):
            assert client.get("/v1/api-keys/self", headers=key.headers).status_code == 200
        yield client


def test_no_database_write_per_request(slow_app: FastAPI, world: World, database: Database) -> None:
    key = world.owner_key()
    for _client in _serve(slow_app, key, 3):
        assert _secret(database, key).last_used_at is None
        assert _used_events(database) == []


def test_a_clean_shutdown_flushes_what_was_recorded(
    slow_app: FastAPI, world: World, database: Database
) -> None:
    key = world.owner_key()
    for _client in _serve(slow_app, key, 3):
        pass
    secret = _secret(database, key)
    assert secret.last_used_at is not None
    assert secret.last_used_ip == CLIENT_IP
    (event,) = _used_events(database, key.prefix)
    assert event.data["count"] == 3
    assert event.data["ips"] == [CLIENT_IP]
    assert event.key_id == key.id
    assert event.mode == "test"


def test_the_background_tasks_flush_usage_and_sweep_expiry_every_few_seconds(
    settings: Settings, database: Database, world: World
) -> None:
    app = create_app(settings.model_copy(update={"key_usage_flush_seconds": 1}), database)
    key = world.owner_key()
    lapsed = world.owner_key()
    with database.session() as session:
        session.execute(update(ApiKey).where(ApiKey.id == lapsed.id).values(expires_at=utcnow()))

    def expired_recorded() -> bool:
        with database.session() as session:
            return session.get_one(ApiKey, lapsed.id).expiry_recorded_at is not None

    for _client in _serve(app, key, 1):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            _secret(database, key).last_used_at is not None and expired_recorded()
        ):
            time.sleep(0.1)
        assert _secret(database, key).last_used_at is not None
        assert expired_recorded()  # the expiry sweep, at the same interval


def test_last_use_is_shown_per_secret_current_and_previous(
    api: TestClient, world: World, database: Database
) -> None:
    key = world.owner_key()
    rolled = api.post(f"/v1/api-keys/{key.id}/roll", headers=key.headers).json()["data"]
    api.get("/v1/api-keys/self", headers=bearer(rolled["secret"]))
    usage.flush(database, api.app.state.usage)  # type: ignore[attr-defined]
    data = api.get(f"/v1/api-keys/{key.id}", headers=key.headers).json()["data"]
    current, previous = data["secrets"]
    assert current["status"] == "current" and previous["status"] == "previous"
    assert current["last_used_ip"] == previous["last_used_ip"] == CLIENT_IP
    assert current["last_used_at"] and previous["last_used_at"]
    prefixes = {e.key_prefix for e in _used_events(database)}
    assert prefixes == {key.prefix, rolled["prefix"].rstrip("…")}


def test_processes_flushing_the_same_minute_add_to_one_event(
    world: World, database: Database
) -> None:
    key = world.owner_key()
    principal = principal_of(database, key.secret)
    first, second = usage.UsageRecorder(), usage.UsageRecorder()
    for _ in range(2):
        first.record(principal, "192.0.2.1")
    for _ in range(3):
        second.record(principal, "2001:db8::1")
    usage.flush(database, first)
    usage.flush(database, second)
    usage.flush(database, first)  # nothing new: no change
    events = _used_events(database, key.prefix)
    assert len(events) == len({e.data["minute"] for e in events})  # one event per minute
    assert sum(e.data["count"] for e in events) == 5
    assert {ip for e in events for ip in e.data["ips"]} == {"192.0.2.1", "2001:db8::1"}


def test_last_use_never_moves_backwards(world: World, database: Database) -> None:
    key = world.owner_key()
    principal = principal_of(database, key.secret)
    newer, older = usage.UsageRecorder(), usage.UsageRecorder()
    older.record(principal, "192.0.2.1")
    newer.record(principal, "192.0.2.2")
    usage.flush(database, newer)
    usage.flush(database, older)  # a slow process flushing an older use afterwards
    assert _secret(database, key).last_used_ip == "192.0.2.2"


def test_a_failed_flush_keeps_the_batch_for_the_next_one(world: World, database: Database) -> None:
    key = world.owner_key()
    principal = principal_of(database, key.secret)
    recorder = usage.UsageRecorder()
    recorder.record(principal, "192.0.2.1")
    broken = Database("sqlite:////nonexistent-dir/forge.db")
    with pytest.raises(Exception):  # noqa: B017 (any database error)
        usage.flush(broken, recorder)
    broken.dispose()
    recorder.record(principal, "192.0.2.1")
    usage.flush(database, recorder)
    (event,) = _used_events(database, key.prefix)
    assert event.data["count"] == 2


def test_refused_requests_are_not_usage(api: TestClient, world: World, database: Database) -> None:
    key = world.owner_key(ip_allowlist=["192.0.2.0/24"])
    assert api.get("/v1/api-keys/self", headers=key.headers).status_code == 403
    usage.flush(database, api.app.state.usage)  # type: ignore[attr-defined]
    assert _secret(database, key).last_used_at is None


def test_has_the_old_prefix_gone_quiet_since_the_roll(
    api: TestClient, world: World, database: Database
) -> None:
    """The seed's runbook step 3 is one call."""
    key = world.owner_key()
    old_prefix = key.prefix + "…"
    api.get("/v1/api-keys/self", headers=key.headers)
    rolled = api.post(f"/v1/api-keys/{key.id}/roll", headers=key.headers).json()
    new_headers = bearer(rolled["data"]["secret"])
    usage.flush(database, api.app.state.usage)  # type: ignore[attr-defined]
    roll_time = api.get(
        f"/v1/audit-events?action=key.rolled&resource={key.id}", headers=new_headers
    ).json()["data"][0]["created_at"]
    quiet = api.get(
        f"/v1/audit-events?key_prefix={old_prefix}&action=key.used&since={roll_time}",
        headers=new_headers,
    )
    assert quiet.status_code == 200
    assert [e for e in quiet.json()["data"] if e["created_at"] > roll_time] == []
    # A caller still on the old secret shows up at once after the next flush.
    api.get("/v1/api-keys/self", headers=key.headers)
    usage.flush(database, api.app.state.usage)  # type: ignore[attr-defined]
    noisy = api.get(
        f"/v1/audit-events?key_prefix={old_prefix}&action=key.used&since={roll_time}",
        headers=new_headers,
    ).json()["data"]
    assert noisy and noisy[0]["key_prefix"] == old_prefix


def test_key_expired_is_recorded_once(world: World, database: Database) -> None:
    key = world.owner_key()
    revoked = world.owner_key()
    with database.session() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id.in_([key.id, revoked.id]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.execute(update(ApiKey).where(ApiKey.id == revoked.id).values(revoked_at=utcnow()))
    assert expiry.record_expired(database) == 1
    assert expiry.record_expired(database) == 0
    with database.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "key.expired")).all()
    assert [e.resource_id for e in events] == [key.id]
    assert events[0].actor_type == "system"
    assert events[0].data["expired_at"].endswith("Z")
    with database.session() as session:
        # The revoked key is marked handled too, so the sweep never reads it again.
        assert session.get_one(ApiKey, revoked.id).expiry_recorded_at is not None


def test_a_live_key_gets_no_expired_event(world: World, database: Database) -> None:
    world.owner_key()
    assert expiry.record_expired(database) == 0


def test_usage_event_ids_are_stable_per_secret_and_minute() -> None:
    assert usage.usage_event_id("ks_1", 100) == usage.usage_event_id("ks_1", 100)
    assert usage.usage_event_id("ks_1", 100) != usage.usage_event_id("ks_2", 100)
    assert usage.usage_event_id("ks_1", 100) < usage.usage_event_id("ks_1", 101)


def test_an_overlong_address_does_not_poison_the_flush(world: World, database: Database) -> None:
    key = world.owner_key()
    principal = principal_of(database, key.secret)
    recorder = usage.UsageRecorder()
    scoped = "fe80::1234:5678:9abc:def0%" + "a-very-long-interface-name"
    recorder.record(principal, scoped)
    usage.flush(database, recorder)
    assert _secret(database, key).last_used_ip == scoped[:45]
