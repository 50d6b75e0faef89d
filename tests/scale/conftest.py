"""The scale-out harness: every role as its own process on PostgreSQL and a private Redis —
two API processes (`forge serve --no-worker --no-edge`), two `forge worker`s, and two
`forge edge`s (one on the built-in cache, one behind a private Varnish)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from forge.db import Database
from forge.edge.varnish.vcl import VclSettings, render
from forge.sites.models import Environment, Site
from forge.tenancy.models import Team
from tests.edge.tiers import SECRET
from tests.factories import World
from tests.faults.services import PrivateRedis
from tests.ports import free_port, wait_serving
from tests.processes import DEADLINE, ForgeProcess, forge_env

P = TypeVar("P", bound=ForgeProcess)
# Long enough that no unit of a small budget frees up during a test: with a limit of N, the
# next unit frees WINDOW / N seconds after the first was spent.
WINDOW_SECONDS = 3600


class Api(ForgeProcess):
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        super().__init__(["serve", "--port", str(self.port), "--no-worker", "--no-edge"], env, log)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_serving(self) -> None:
        wait_serving(self.process, self.port, self.output, DEADLINE)


class Cluster:
    def __init__(
        self, database_url: str, tmp_path: Path, redis: PrivateRedis, **extra: str
    ) -> None:
        from tools.system_packages import Unavailable, ensure_varnish
        from tools.varnish_process import Varnish

        try:
            ensure_varnish()
        except Unavailable as err:
            pytest.skip(f"VARNISH TESTS SKIPPED: {err}")
        self.redis = redis
        env = forge_env(
            database_url,
            tmp_path,
            FORGE_VARNISH_SECRET=SECRET,
            FORGE_REDIS_URL=redis.url,
            FORGE_RATELIMIT_WINDOW=str(WINDOW_SECONDS),
            **extra,
        )
        edge_port, varnished_port = free_port(), free_port()
        self.varnish = Varnish(render(VclSettings("127.0.0.1", varnished_port, SECRET)))
        self.varnish.start()
        # Where clients meet each edge: the built-in one itself, the other through Varnish.
        self.fronts = {"builtin": f"http://127.0.0.1:{edge_port}", "varnish": self.varnish.url}
        self.processes: list[ForgeProcess] = []
        try:
            # All started at once, then waited for: their start-ups overlap.
            self.apis = [self._start(Api(env, tmp_path / f"api{i}.log")) for i in range(2)]
            self.workers = [
                self._start(ForgeProcess(["worker"], env, tmp_path / f"worker{i}.log"))
                for i in range(2)
            ]
            varnished = ["--cache", "varnish", "--varnish", self.varnish.url]
            self.edges = [
                self._start(ForgeProcess(["edge", "--port", str(port), *more], env, log))
                for port, more, log in (
                    (edge_port, [], tmp_path / "edge-builtin.log"),
                    (varnished_port, varnished, tmp_path / "edge-varnish.log"),
                )
            ]
            for api in self.apis:
                api.wait_serving()
            for worker in self.workers:
                worker.wait_for_output('"worker started"')
            for edge in self.edges:
                edge.wait_for_output("Forge edge listening")
        except BaseException:
            self.stop()
            raise

    def _start(self, process: P) -> P:
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:  # all told at once: their shutdowns overlap
            if process.process.poll() is None:
                process.process.terminate()
        for process in self.processes:
            process.stop()
        self.varnish.stop()


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if os.environ.get("FORGE_TEST_DATABASE", "sqlite") != "postgresql":
        pytest.skip("the scale-out runs on PostgreSQL (SQLite is the one-process default)")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """The cluster's own Redis, which a test may stop and start (never the shared one)."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def start_cluster(
    database_url: str, database: Database, tmp_path: Path, private_redis: PrivateRedis
) -> Iterator[Callable[..., Cluster]]:
    """Start the cluster with extra settings for every process (`FORGE_…=value`)."""
    started: list[Cluster] = []

    def start(**extra: str) -> Cluster:
        started.append(Cluster(database_url, tmp_path, private_redis, **extra))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def cluster(start_cluster: Callable[..., Cluster]) -> Cluster:
    return start_cluster()


def owner_headers(world: World, database: Database, env: Environment) -> dict[str, str]:
    with database.session() as session:
        site = session.get_one(Site, env.site_id)
        team = session.get_one(Team, site.team_id)
    return world.owner_key(team).headers


def request_purge(api: Api, env: Environment, headers: dict[str, str], tag: str) -> str:
    """A purge of one tag through `api`: its job's id."""
    path = f"/v1/sites/{env.site_id}/environments/{env.id}/cache/purge"
    answer = httpx.post(api.url + path, headers=headers, json={"tags": [tag]}, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["data"]["id"])


def finished_job(api: Api, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The job as `api` answers once it finished (`?wait=`)."""
    done = httpx.get(f"{api.url}/v1/jobs/{job_id}?wait=20", headers=headers, timeout=30)
    assert done.status_code == 200, done.text
    job: dict[str, Any] = done.json()["data"]
    return job


def cache_label(front: str, host: str, path: str) -> str:
    return httpx.get(front + path, headers={"Host": host}, timeout=10).headers["forge-cache"]


def until(check: Callable[[], bool], what: str, deadline: float = DEADLINE) -> float:
    """Seconds until `check()` held (failing after `deadline` seconds)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - started
