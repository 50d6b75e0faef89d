"""GET and PATCH …/cache: configuration, and the state summed over the live edges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.db import Database
from forge.notify import CONFIG_CHANGED
from tests.assertions import assert_error, data_of
from tests.cache.conftest import EDGE_LEASE_SECONDS, CacheWorld
from tests.factories import Edges, World


def _stats(env_id: str, **numbers: Any) -> dict[str, Any]:
    return {"environments": {env_id: numbers}}


def test_a_fresh_environment_has_the_default_config_and_an_empty_state(
    api: TestClient, cw: CacheWorld
) -> None:
    cache = data_of(api.get(cw.cache_path, headers=cw.owner.headers))
    assert cache["environment"] == cw.env.id
    assert cache["config"]["default_ttl"] == 0
    assert cache["config"]["max_object_bytes"] == 8 * 1024 * 1024
    assert cache["config"]["cached"]["methods"] == ["GET", "HEAD"]
    assert cache["state"] == {
        "entries": {"page": 0, "object": 0, "total": 0},
        "bytes": {"page": 0, "object": 0, "total": 0},
        "hits": 0,
        "misses": 0,
        "hit_ratio": None,
        "top_tags": [],
        "edges_reporting": 0,
    }
    assert cache["last_purge"] is None and cache["edges"] == []


def test_the_state_sums_the_live_edges_only(api: TestClient, cw: CacheWorld, edges: Edges) -> None:
    env = cw.env.id
    a = edges.register(
        "edge-a",
        stats=_stats(
            env,
            entries={"page": 2, "object": 5},
            bytes={"page": 200, "object": 5000},
            hits=30,
            misses=10,
            top_tags=[{"tag": "shoes", "entries": 4}, {"tag": "hats", "entries": 1}],
        ),
    )
    b = edges.register(
        "edge-b",
        stats={
            "environments": {
                env: {
                    "entries": {"page": 1},
                    "bytes": {"page": 100},
                    "hits": 10,
                    "misses": 0,
                    "top_tags": [{"tag": "hats", "entries": 3}, {"tag": "socks", "entries": 2}],
                },
                "env_other": {"entries": {"page": 999}, "hits": 999},
            }
        },
    )
    down = edges.register(
        "edge-down",
        heartbeat_age=timedelta(seconds=EDGE_LEASE_SECONDS + 60),
        stats=_stats(env, hits=1000),
    )
    cache = data_of(api.get(cw.cache_path, headers=cw.owner.headers))
    state = cache["state"]
    assert state["entries"] == {"page": 3, "object": 5, "total": 8}
    assert state["bytes"] == {"page": 300, "object": 5000, "total": 5300}
    assert (state["hits"], state["misses"], state["hit_ratio"]) == (40, 10, 0.8)
    assert state["top_tags"] == [
        {"tag": "hats", "entries": 4},
        {"tag": "shoes", "entries": 4},
        {"tag": "socks", "entries": 2},
    ]
    assert state["edges_reporting"] == 2
    assert [(e["id"], e["status"], e["applied_seq"]) for e in cache["edges"]] == [
        (a.id, "live", 0),
        (b.id, "live", 0),
        (down.id, "down", 0),
    ]
    assert all(e["heartbeat_at"].endswith("Z") for e in cache["edges"])


def test_top_tags_are_the_20_largest(api: TestClient, cw: CacheWorld, edges: Edges) -> None:
    tags = [{"tag": f"t{i:02}", "entries": i} for i in range(30)]
    edges.register(stats=_stats(cw.env.id, top_tags=tags))
    top = data_of(api.get(cw.cache_path, headers=cw.owner.headers))["state"]["top_tags"]
    assert [t["tag"] for t in top] == [f"t{i:02}" for i in range(29, 9, -1)]


def test_the_last_purge_is_shown_with_its_job(api: TestClient, cw: CacheWorld) -> None:
    api.post(cw.purge_path, headers=cw.owner.headers, json={"tags": ["a"]})
    job = data_of(api.post(cw.purge_path, headers=cw.owner.headers, json={"paths": ["/x*"]}), 202)
    last = data_of(api.get(cw.cache_path, headers=cw.owner.headers))["last_purge"]
    assert last["job"] == job["id"] and last["status"] == "queued"
    assert last["selector"]["paths"] == ["/x*"] and last["dry_run"] is False


def test_patch_changes_the_config_audits_it_and_tells_the_edges(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    import asyncio

    notifier: Any = api.app.state.notifier  # type: ignore[attr-defined]

    async def patch_and_listen() -> tuple[Any, list[str]]:
        with notifier.listen(CONFIG_CHANGED) as listener:
            response = await asyncio.to_thread(
                api.patch,
                cw.cache_path,
                headers=cw.owner.headers,
                json={"default_ttl": 60, "max_object_bytes": 1024},
            )
            await listener.wait(10)
            return response, listener.messages

    response, messages = asyncio.run(patch_and_listen())
    cache = data_of(response)
    assert (cache["config"]["default_ttl"], cache["config"]["max_object_bytes"]) == (60, 1024)
    assert messages == [cw.env.id]
    again = data_of(api.get(cw.cache_path, headers=cw.owner.headers))
    assert again["config"]["default_ttl"] == 60
    data_of(api.patch(cw.cache_path, headers=cw.owner.headers, json={"default_ttl": 0}))
    with database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cache.updated").order_by(AuditEvent.id)
        ).all()
    assert [e.data for e in events] == [
        {"default_ttl": 60, "max_object_bytes": 1024},
        {"default_ttl": 0},
    ]


def test_patch_validates_each_setting(api: TestClient, cw: CacheWorld) -> None:
    for body, param in (
        ({"default_ttl": -1}, "default_ttl"),
        ({"default_ttl": 31_536_001}, "default_ttl"),
        ({"max_object_bytes": 0}, "max_object_bytes"),
        ({"max_object_bytes": "big"}, "max_object_bytes"),
        ({"ttl": 5}, "ttl"),
    ):
        response = api.patch(cw.cache_path, headers=cw.owner.headers, json=body)
        assert_error(response, 422, "validation_error", param)


def test_reading_needs_cache_read_and_changing_needs_cache_write(
    api: TestClient, cw: CacheWorld, world: World
) -> None:
    writer = world.key(cw.team, world.member(cw.team), scopes=["cache:write"])
    reader = world.key(cw.team, world.member(cw.team), scopes=["cache:read"])
    error = assert_error(api.get(cw.cache_path, headers=writer.headers), 403, "insufficient_scope")
    assert "cache:read" in error["message"]
    data_of(api.get(cw.cache_path, headers=reader.headers))
    patch = api.patch(cw.cache_path, headers=reader.headers, json={"default_ttl": 5})
    assert_error(patch, 403, "insufficient_scope")
    stranger = world.owner_key()
    assert_error(api.get(cw.cache_path, headers=stranger.headers), 404, "not_found")
