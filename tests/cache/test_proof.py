"""The cache.purge job succeeds only when every live edge has applied the purge, and its
result proves it. The edges are played by the test (rows in `edges` and
`edge_purge_results`, as edge processes write them); real edges are tested with the edge."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.db import Database
from forge.notify import PURGE_APPLIED
from tests.assertions import data_of
from tests.cache.conftest import EDGE_LEASE_SECONDS, CacheWorld
from tests.factories import Edges

DEADLINE = 30.0
DOWN = timedelta(seconds=EDGE_LEASE_SECONDS + 60)


def _job(api: TestClient, cw: CacheWorld, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = data_of(api.get(f"/v1/jobs/{job_id}", headers=cw.owner.headers))
    return job


def _until(
    api: TestClient, cw: CacheWorld, job_id: str, ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while True:
        job = _job(api, cw, job_id)
        if ok(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _purge(api: TestClient, cw: CacheWorld, body: dict[str, Any] | None = None) -> str:
    job_id: str = data_of(api.post(cw.purge_path, headers=cw.owner.headers, json=body), 202)["id"]
    return job_id


def _finished(api: TestClient, cw: CacheWorld, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = data_of(api.get(f"/v1/jobs/{job_id}?wait=30", headers=cw.owner.headers))
    assert job["status"] in ("succeeded", "failed"), job
    return job


def test_with_no_edge_at_all_the_purge_succeeds_with_an_empty_proof(
    working_api: TestClient, cw: CacheWorld
) -> None:
    job = _finished(working_api, cw, _purge(working_api, cw))
    assert job["status"] == "succeeded" and job["attempts"] == 1
    assert job["result"]["edges"] == [] and job["result"]["edges_down"] == []
    assert job["result"]["totals"] == {"edges": 0, "matched": 0, "evicted": 0, "marked_stale": 0}


def test_the_job_waits_for_every_live_edge_and_reports_each(
    working_api: TestClient, cw: CacheWorld, edges: Edges, database: Database
) -> None:
    one, two = edges.register("edge-a"), edges.register("edge-b")
    job_id = _purge(working_api, cw, {"tags": ["product-1"]})
    seq = edges.seq_of(job_id)
    _until(working_api, cw, job_id, lambda j: j["status"] == "running")
    edges.apply(one, seq, matched=3, evicted=3)
    working_api.app.state.notifier.publish(PURGE_APPLIED, str(seq))  # type: ignore[attr-defined]
    # One edge of two has applied it: still running, and it stays so while edge-b is live.
    assert _job(working_api, cw, job_id)["status"] == "running"
    edges.heartbeat(two)
    assert _job(working_api, cw, job_id)["status"] == "running"
    edges.apply(two, seq, matched=2, evicted=1, marked_stale=0)
    job = _finished(working_api, cw, job_id)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["purge"]["seq"] == seq and result["purge"]["selector"]["tags"] == ["product-1"]
    assert [(e["edge"], e["name"], e["matched"], e["evicted"]) for e in result["edges"]] == [
        (one.id, "edge-a", 3, 3),
        (two.id, "edge-b", 2, 1),
    ]
    assert all(e["applied_at"].endswith("Z") for e in result["edges"])
    assert result["totals"] == {"edges": 2, "matched": 5, "evicted": 4, "marked_stale": 0}
    assert result["edges_down"] == []


def test_an_edge_down_at_the_time_is_reported_and_audited_once(
    working_api: TestClient, cw: CacheWorld, edges: Edges, database: Database
) -> None:
    live = edges.register("edge-live")
    lost = edges.register("edge-lost", heartbeat_age=DOWN)
    for round_ in range(2):
        job_id = _purge(working_api, cw, {"mode": "soft"})
        edges.apply(live, edges.seq_of(job_id), matched=1, marked_stale=1)
        job = _finished(working_api, cw, job_id)
        assert job["status"] == "succeeded", (round_, job)
        assert [e["edge"] for e in job["result"]["edges"]] == [live.id]
        (down,) = job["result"]["edges_down"]
        assert (down["edge"], down["name"], down["applied_seq"]) == (lost.id, "edge-lost", 0)
    with database.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "edge.lost")).all()
    assert [(e.resource_id, e.actor_type, e.team_id) for e in events] == [
        (lost.id, "system", cw.team.id)
    ]


def test_an_edge_that_stops_heartbeating_mid_purge_is_reported_down(
    working_api: TestClient, cw: CacheWorld, edges: Edges
) -> None:
    steady, frozen = edges.register("edge-steady"), edges.register("edge-frozen")
    job_id = _purge(working_api, cw)
    edges.apply(steady, edges.seq_of(job_id))
    _until(working_api, cw, job_id, lambda j: j["status"] == "running")
    edges.heartbeat(frozen, age=DOWN)  # as if SIGSTOPped: its lease runs out
    job = _finished(working_api, cw, job_id)
    assert job["status"] == "succeeded"
    assert [e["edge"] for e in job["result"]["edges"]] == [steady.id]
    assert [e["edge"] for e in job["result"]["edges_down"]] == [frozen.id]


def test_an_edge_started_after_the_purge_is_not_waited_for(
    working_api: TestClient, cw: CacheWorld, edges: Edges
) -> None:
    job_id = _purge(working_api, cw)
    edges.register("edge-new", started_age=timedelta(seconds=-1))
    job = _finished(working_api, cw, job_id)
    assert job["status"] == "succeeded" and job["result"]["edges"] == []


def test_stopped_edges_are_neither_waited_for_nor_down(
    working_api: TestClient, cw: CacheWorld, edges: Edges, database: Database
) -> None:
    from forge.cache.models import Edge
    from forge.clock import utcnow

    gone = edges.register("edge-gone")
    with database.session() as session:
        session.get_one(Edge, gone.id).stopped_at = utcnow()
    job = _finished(working_api, cw, _purge(working_api, cw))
    assert job["status"] == "succeeded"
    assert job["result"]["edges"] == [] and job["result"]["edges_down"] == []


def test_a_live_edge_that_never_applies_fails_the_job_naming_it(
    api_with: Callable[..., TestClient], cw: CacheWorld, edges: Edges
) -> None:
    api = api_with(
        worker_in_process=True, purge_timeout_seconds=1, edge_lease_seconds=EDGE_LEASE_SECONDS
    )
    quick, stuck = edges.register("edge-quick"), edges.register("edge-stuck")
    job_id = _purge(api, cw)
    seq = edges.seq_of(job_id)
    edges.apply(quick, seq, matched=1, evicted=1)
    job = _finished(api, cw, job_id)
    assert job["status"] == "failed" and job["result"] is None
    error = job["error"]
    assert error["code"] == "edges_not_applied"
    assert stuck.id in error["message"] and "edge-stuck" in error["message"]
    assert quick.id not in error["message"]
    assert [e["edge"] for e in error["edges"]] == [stuck.id]
    assert [e["edge"] for e in error["applied"]] == [quick.id]
    assert job["attempts"] == 1  # not retried: waiting again would not help
