"""Every role as its own process on PostgreSQL: two API processes (`forge serve --no-worker
--no-edge`), two `forge worker`s, and two `forge edge`s (one on the built-in cache, one behind
a private Varnish). What one API process is told, every process acts on."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from forge.db import Database
from forge.edge.varnish.vcl import VclSettings, render
from forge.sites.models import Environment, Site
from forge.tenancy.models import Team
from tests.edge.origin import Answer, Origin
from tests.edge.tiers import SECRET
from tests.factories import World
from tests.processes import DEADLINE, ForgeProcess, forge_env, free_port

pytestmark = pytest.mark.skipif(
    os.environ.get("FORGE_TEST_DATABASE", "sqlite") != "postgresql",
    reason="the scale-out runs on PostgreSQL (SQLite is the one-process default)",
)


class Api(ForgeProcess):
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        super().__init__(["serve", "--port", str(self.port), "--no-worker", "--no-edge"], env, log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + DEADLINE
        while True:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)


class Cluster:
    def __init__(self, database_url: str, tmp_path: Path) -> None:
        from tools.system_packages import Unavailable, ensure_varnish
        from tools.varnish_process import Varnish

        try:
            ensure_varnish()
        except Unavailable as err:
            pytest.skip(f"VARNISH TESTS SKIPPED: {err}")
        env = forge_env(database_url, tmp_path, FORGE_VARNISH_SECRET=SECRET)
        self.processes: list[ForgeProcess] = []
        edge_port, varnished_port = free_port(), free_port()
        self.varnish = Varnish(render(VclSettings("127.0.0.1", varnished_port, SECRET)))
        self.varnish.start()
        try:
            self.apis = [Api(env, tmp_path / f"api{i}.log") for i in range(2)]
            self.processes += self.apis
            for i in range(2):
                worker = ForgeProcess(["worker"], env, tmp_path / f"worker{i}.log")
                self.processes.append(worker)
                worker.wait_for_output("running")
            builtin = ForgeProcess(
                ["edge", "--port", str(edge_port)], env, tmp_path / "edge-builtin.log"
            )
            varnished = ForgeProcess(
                [
                    "edge",
                    "--port",
                    str(varnished_port),
                    "--cache",
                    "varnish",
                    "--varnish",
                    self.varnish.url,
                ],
                env,
                tmp_path / "edge-varnish.log",
            )
            self.processes += [builtin, varnished]
            for edge in (builtin, varnished):
                edge.wait_for_output("Forge edge listening")
        except BaseException:
            self.stop()
            raise
        # Where clients meet each edge: the built-in one itself, the other through Varnish.
        self.fronts = {"builtin": f"http://127.0.0.1:{edge_port}", "varnish": self.varnish.url}

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.varnish.stop()


@pytest.fixture
def cluster(database_url: str, database: Database, tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(database_url, tmp_path)
    yield running
    running.stop()


def _owner(world: World, database: Database, env: Environment) -> dict[str, str]:
    with database.session() as session:
        site = session.get_one(Site, env.site_id)
        team = session.get_one(Team, site.team_id)
    return world.owner_key(team).headers


def _label(front: str, host: str, path: str) -> str:
    return httpx.get(front + path, headers={"Host": host}, timeout=10).headers["forge-cache"]


def _until(check: object, what: str, deadline: float = DEADLINE) -> float:
    """Seconds until `check()` held."""
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - started < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_purge_through_one_api_is_applied_and_proved_by_both_edges(
    cluster: Cluster, world: World, database: Database
) -> None:
    origin = Origin().start()
    try:
        env = world.hosted_environment(origin.url)
        host = env.hostnames[0]
        headers = _owner(world, database, env)
        origin.answers["/p"] = Answer(
            headers={"Cache-Control": "max-age=600", "Surrogate-Key": "t"}
        )
        for name, front in cluster.fronts.items():
            _until(lambda f=front: _label(f, host, "/p") == "HIT", f"a hit through {name}")
        first, second = cluster.apis
        base = f"/v1/sites/{env.site_id}/environments/{env.id}/cache"
        answer = httpx.post(first.url + base + "/purge", headers=headers, json={"tags": ["t"]})
        assert answer.status_code == 202, answer.text
        job = answer.json()["data"]["id"]
        done = httpx.get(f"{second.url}/v1/jobs/{job}?wait=20", headers=headers, timeout=30)
        result = done.json()["data"]
        assert result["status"] == "succeeded", result
        proofs = result["result"]["edges"]
        assert len(proofs) == 2
        assert [(p["matched"], p["evicted"]) for p in proofs] == [(1, 1), (1, 1)]
        for front in cluster.fronts.values():
            assert _label(front, host, "/p") == "MISS"

        # A configuration change through the other API process is in force on both edges
        # within a second: a default TTL makes a response without caching headers a hit.
        patched = httpx.patch(second.url + base, headers=headers, json={"default_ttl": 60})
        assert patched.status_code == 200, patched.text
        changed_at = time.monotonic()
        for name, front in cluster.fronts.items():

            def cached(f: str = front, counter: Iterator[int] = iter(range(10**6))) -> bool:
                path = f"/d{next(counter)}"
                origin.answers[path] = Answer(headers={})
                _label(f, host, path)
                return _label(f, host, path) == "HIT"

            _until(cached, f"the default TTL on the {name} edge")
            assert time.monotonic() - changed_at < 1.0, f"{name}: not within 1 s"
    finally:
        origin.stop()


def test_a_key_revoked_through_one_api_process_is_refused_by_the_other(
    cluster: Cluster, world: World
) -> None:
    team = world.team()
    site = world.site(team)
    owner = world.member(team)
    doomed = world.key(team, owner)
    admin = world.key(team, owner)
    first, second = cluster.apis
    assert httpx.get(f"{second.url}/v1/sites/{site.id}", headers=doomed.headers).status_code == 200
    revoked = httpx.delete(f"{first.url}/v1/api-keys/{doomed.id}", headers=admin.headers)
    assert revoked.status_code == 200, revoked.text
    refused = httpx.get(f"{second.url}/v1/sites/{site.id}", headers=doomed.headers)
    assert refused.status_code == 401
