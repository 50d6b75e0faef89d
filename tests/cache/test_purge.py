"""POST …/cache/purge: the 202 and its job, the purge log, idempotency, every validation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.cache.models import CachePurge
from forge.db import Database
from forge.jobs.models import Job
from tests.assertions import assert_error, data_of
from tests.cache.conftest import CacheWorld
from tests.factories import World

EVERYTHING = {"type": "all", "tags": [], "paths": [], "cache_hashes": [], "mode": "hard"}


def _log(database: Database) -> list[CachePurge]:
    with database.session() as session:
        return list(session.scalars(select(CachePurge).order_by(CachePurge.seq)))


def _count(database: Database, model: type[Any]) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_purge_answers_202_with_the_job_in_the_seed_shape(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    response = api.post(
        cw.purge_path,
        headers={**cw.owner.headers, "Forge-Version": "2026-06-23"},
        json={"type": "page"},
    )
    job = data_of(response, 202)
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-bucket"] == "write"
    assert job["id"].startswith("job_") and job["type"] == "cache.purge"
    assert job["status"] == "queued" and job["created_at"].endswith("Z")
    assert job["resource"] == {"type": "environment", "id": cw.env.id}
    assert (job["started_at"], job["finished_at"], job["result"], job["attempts"]) == (
        None,
        None,
        None,
        0,
    )
    (purge,) = _log(database)
    assert purge.job_id == job["id"] and purge.environment_id == cw.env.id
    assert purge.selector == {**EVERYTHING, "type": "page"} and purge.dry_run is False


def test_an_empty_body_purges_everything_and_selectors_are_stored_as_given(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    data_of(api.post(cw.purge_path, headers=cw.owner.headers), 202)
    body = {
        "type": "object",
        "tags": ["product-1", "cat:shoes"],
        "paths": ["/shop/*", "/about"],
        "cache_hashes": ["c0ffee"],
        "mode": "soft",
        "dry_run": True,
    }
    data_of(api.post(cw.purge_path, headers=cw.owner.headers, json=body), 202)
    everything, chosen = _log(database)
    assert everything.selector == EVERYTHING
    assert chosen.selector == {k: v for k, v in body.items() if k != "dry_run"}
    assert chosen.dry_run is True and chosen.seq > everything.seq


def test_the_purge_is_audited_with_its_selector_job_and_actor(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    job = data_of(api.post(cw.purge_path, headers=cw.owner.headers, json={"tags": ["t"]}), 202)
    with database.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "cache.purged")).one()
    assert event.resource_id == cw.env.id and event.key_id == cw.owner.id
    assert event.data["job"] == job["id"] and event.data["selector"]["tags"] == ["t"]


def test_a_retry_with_the_same_idempotency_key_queues_no_second_purge(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    headers = {**cw.owner.headers, "Idempotency-Key": "purge-after-release-rel_01JE7"}
    first = api.post(cw.purge_path, headers=headers, json={"type": "page"})
    again = api.post(cw.purge_path, headers=headers, json={"type": "page"})
    assert again.status_code == 202  # the first answer replayed, its request id included
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["retry-after"] == "1"
    assert len(_log(database)) == 1 and _count(database, Job) == 1
    other = api.post(cw.purge_path, headers=headers, json={"type": "object"})
    assert_error(other, 422, "idempotency_key_reused")
    assert len(_log(database)) == 1


LONG = "x" * 1025


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"type": "everything"}, "type"),
        ({"mode": "gentle"}, "mode"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"tag": ["a"]}, "tag"),
        ({"tags": "a"}, "tags"),
        ({"tags": []}, "tags"),
        ({"tags": ["two words"]}, "tags.0"),
        ({"tags": ["ok", "a,b"]}, "tags.1"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": ["t" * 1025]}, "tags.0"),
        ({"tags": ["caf\u00e9"]}, "tags.0"),
        ({"paths": ["no-slash"]}, "paths.0"),
        ({"paths": ["/a?b=1"]}, "paths.0"),
        ({"paths": ["/a#top"]}, "paths.0"),
        ({"paths": ["/a b"]}, "paths.0"),
        ({"paths": ["/" + LONG]}, "paths.0"),
        ({"paths": []}, "paths"),
        ({"cache_hashes": ["has space"]}, "cache_hashes.0"),
        ({"cache_hashes": [LONG]}, "cache_hashes.0"),
        ({"tags": [f"t{i}" for i in range(257)]}, "tags"),
        ({"paths": [f"/p{i}" for i in range(257)]}, "paths"),
        ({"cache_hashes": [f"h{i}" for i in range(257)]}, "cache_hashes"),
    ],
)
def test_every_invalid_purge_is_a_422_naming_it(
    api: TestClient, cw: CacheWorld, database: Database, body: dict[str, Any], param: str
) -> None:
    error = assert_error(
        api.post(cw.purge_path, headers=cw.owner.headers, json=body), 422, "validation_error"
    )
    assert error["param"] == param
    assert [e["param"] for e in error["errors"]] == [param]
    assert _log(database) == [] and _count(database, Job) == 0


def test_all_violations_are_named_at_once(api: TestClient, cw: CacheWorld) -> None:
    body = {"tags": ["ok", "bad tag", ""], "paths": ["/fine", "/q?x", "rel"]}
    error = assert_error(
        api.post(cw.purge_path, headers=cw.owner.headers, json=body), 422, "validation_error"
    )
    assert [e["param"] for e in error["errors"]] == ["tags.1", "tags.2", "paths.1", "paths.2"]


def test_more_than_256_selectors_together_is_a_422(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    body = {"tags": [f"t{i}" for i in range(200)], "paths": [f"/p{i}" for i in range(57)]}
    error = assert_error(
        api.post(cw.purge_path, headers=cw.owner.headers, json=body), 422, "validation_error"
    )
    assert "at most 256 selectors" in error["message"] and "257" in error["message"]
    exactly = {"tags": [f"t{i}" for i in range(200)], "paths": [f"/p{i}" for i in range(56)]}
    data_of(api.post(cw.purge_path, headers=cw.owner.headers, json=exactly), 202)
    assert len(_log(database)) == 1


def test_a_purge_needs_cache_write_and_a_visible_environment(
    api: TestClient, cw: CacheWorld, world: World, database: Database
) -> None:
    reader = world.key(cw.team, world.member(cw.team), scopes=["cache:read"])
    error = assert_error(api.post(cw.purge_path, headers=reader.headers), 403, "insufficient_scope")
    assert "cache:write" in error["message"]
    stranger = world.owner_key()
    assert_error(api.post(cw.purge_path, headers=stranger.headers), 404, "not_found")
    live = world.owner_key(cw.team, mode="live")
    assert_error(api.post(cw.purge_path, headers=live.headers), 404, "not_found")
    assert_error(api.post(cw.purge_path), 401, "authentication")
    assert _log(database) == []
