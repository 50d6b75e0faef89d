"""The proof with real edge processes (`forge edge`) on one database: a purge job succeeds only
once both applied it, both in its result; an edge frozen with SIGSTOP during a purge is
reported down, and once it runs again it applies the missed purge before any cached answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.app import create_app
from forge.cache.models import Edge, EdgePurgeResult
from forge.config import Settings
from forge.db import Database
from forge.sites.models import Environment
from tests.edge.conftest import wait_for
from tests.edge.origin import Answer, Origin
from tests.factories import Key, World
from tests.ports import free_port as _free_port

FORGE = str(Path(sys.executable).parent / "forge")
LEASE = 3


class EdgeProcess:
    def __init__(self, database_url: str, data_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
        env |= {
            "FORGE_DATABASE_URL": database_url,
            "FORGE_DATA_DIR": str(data_dir),
            "FORGE_EDGE_LEASE_SECONDS": str(LEASE),
        }
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [FORGE, "edge", "--port", str(self.port)], env=env, stdout=out, stderr=out
            )

    def get(self, host: str, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Host": host}, timeout=10)

    def serving(self, host: str) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return self.get(host, "/healthz-probe").status_code != 421
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def edges(database_url: str, tmp_path: Path) -> Iterator[list[EdgeProcess]]:
    started = [
        EdgeProcess(database_url, tmp_path / f"data{i}", tmp_path / f"edge{i}.log")
        for i in range(2)
    ]
    yield started
    for edge in started:
        edge.stop()


@pytest.fixture
def proof_api(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The API with its job worker in-process, on the edges' lease."""
    tuned = settings.model_copy(update={"edge_lease_seconds": LEASE, "worker_in_process": True})
    with TestClient(create_app(tuned, database)) as client:
        yield client


def _setup(world: World, origin: Origin) -> tuple[Environment, Key]:
    team = world.team()
    env = world.hosted_environment(origin.url, team=team)
    origin.answers["/p"] = Answer(
        headers={"Cache-Control": "max-age=600", "Surrogate-Key": "t"}, body=b"v1"
    )
    return env, world.owner_key(team)


def _purge(api: TestClient, env: Environment, key: Key) -> dict[str, Any]:
    path = f"/v1/sites/{env.site_id}/environments/{env.id}/cache/purge"
    response = api.post(path, headers=key.headers, json={"tags": ["t"]})
    assert response.status_code == 202, response.text
    job_id = response.json()["data"]["id"]
    for _ in range(10):
        job = api.get(f"/v1/jobs/{job_id}?wait=10", headers=key.headers).json()["data"]
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
    raise AssertionError(f"job {job_id} did not finish")


def _warm(edge: EdgeProcess, host: str) -> None:
    wait_for(lambda: edge.serving(host), f"edge {edge.port} serving {host}", deadline=30)
    edge.get(host, "/p")
    assert edge.get(host, "/p").headers["forge-cache"] == "HIT"


def _edge_ids(database: Database, edges: list[EdgeProcess]) -> dict[int, str]:
    with database.session() as session:
        rows = session.execute(select(Edge.name, Edge.id).where(Edge.stopped_at.is_(None)))
        by_port = {int(name.rsplit(":", 1)[1]): edge_id for name, edge_id in rows}
    return {edge.port: by_port[edge.port] for edge in edges}


def test_a_purge_succeeds_once_both_edges_applied_it(
    world: World,
    origin: Origin,
    edges: list[EdgeProcess],
    proof_api: TestClient,
    database: Database,
) -> None:
    env, key = _setup(world, origin)
    host = env.hostnames[0]
    for edge in edges:
        _warm(edge, host)
    job = _purge(proof_api, env, key)
    assert job["status"] == "succeeded", job
    ids = _edge_ids(database, edges)
    proof = {entry["edge"]: entry for entry in job["result"]["edges"]}
    assert set(proof) == set(ids.values())
    for entry in proof.values():
        assert (entry["matched"], entry["evicted"], entry["marked_stale"]) == (1, 1, 0)
        assert entry["applied_at"]
    assert job["result"]["edges_down"] == []
    assert job["result"]["totals"] == {"edges": 2, "matched": 2, "evicted": 2, "marked_stale": 0}
    origin.answers["/p"] = Answer(headers={"Cache-Control": "max-age=600"}, body=b"v2")
    for edge in edges:
        response = edge.get(host, "/p")
        assert (response.headers["forge-cache"], response.content) == ("MISS", b"v2")


def test_a_frozen_edge_is_reported_down_and_catches_up_before_its_next_cached_answer(
    world: World,
    origin: Origin,
    edges: list[EdgeProcess],
    proof_api: TestClient,
    database: Database,
) -> None:
    env, key = _setup(world, origin)
    host = env.hostnames[0]
    awake, frozen = edges
    for edge in edges:
        _warm(edge, host)
    ids = _edge_ids(database, edges)
    # A connection opened while it was awake; the next request on it is written while the edge
    # is frozen, so it is the first thing the edge reads when it wakes.
    held = socket.create_connection(("127.0.0.1", frozen.port), timeout=10)
    os.kill(frozen.process.pid, signal.SIGSTOP)
    try:
        job = _purge(proof_api, env, key)
        origin.answers["/p"] = Answer(headers={"Cache-Control": "max-age=600"}, body=b"v2")
        held.sendall(b"GET /p HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
    finally:
        os.kill(frozen.process.pid, signal.SIGCONT)
    first = b""
    while chunk := held.recv(65536):
        first += chunk
    held.close()
    assert job["status"] == "succeeded", job
    assert [e["edge"] for e in job["result"]["edges"]] == [ids[awake.port]]
    assert [e["edge"] for e in job["result"]["edges_down"]] == [ids[frozen.port]]
    # Its very first answer after waking: never the purged object from its cache.
    assert first.endswith(b"\r\n\r\nv2"), first
    assert b"Forge-Cache: BYPASS" in first

    def applied() -> bool:
        with database.session() as session:
            return (
                session.get(EdgePurgeResult, (ids[frozen.port], job["result"]["purge"]["seq"]))
                is not None
            )

    wait_for(applied, "the frozen edge's proof")
    wait_for(lambda: frozen.get(host, "/p").headers["forge-cache"] == "HIT", "serving again")
    assert frozen.get(host, "/p").content == b"v2"
