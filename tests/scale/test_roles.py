"""What one API process is told, every process acts on: purges applied and proved by both edges,
configuration in force on both edges within a second, revoked keys refused everywhere."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import httpx
import pytest

from forge.db import Database
from forge.sites.models import Environment
from tests.edge.origin import Answer, Origin
from tests.factories import World
from tests.scale.conftest import (
    Cluster,
    cache_label,
    finished_job,
    owner_headers,
    request_purge,
    until,
)

PROMISE_SECONDS = 1.0  # a configuration change is in force on every edge within a second


@pytest.fixture
def origin() -> Iterator[Origin]:
    running = Origin().start()
    yield running
    running.stop()


def _hit(front: str, host: str, path: str) -> bool:
    return cache_label(front, host, path) == "HIT"


def _known(front: str, host: str) -> bool:
    return httpx.get(front + "/known", headers={"Host": host}, timeout=10).content == b"known"


def test_a_purge_through_one_api_is_applied_and_proved_by_both_edges(
    cluster: Cluster, world: World, database: Database, origin: Origin
) -> None:
    env = world.hosted_environment(origin.url)
    host = env.hostnames[0]
    headers = owner_headers(world, database, env)
    origin.answers["/p"] = Answer(headers={"Cache-Control": "max-age=600", "Surrogate-Key": "t"})
    for name, front in cluster.fronts.items():
        until(partial(_hit, front, host, "/p"), f"a hit through {name}")
    first, second = cluster.apis
    job = request_purge(first, env, headers, "t")
    result = finished_job(second, job, headers)
    assert result["status"] == "succeeded", result
    proofs = result["result"]["edges"]
    assert len(proofs) == 2
    assert [(p["matched"], p["evicted"]) for p in proofs] == [(1, 1), (1, 1)]
    for front in cluster.fronts.values():
        assert cache_label(front, host, "/p") == "MISS"


def _default_ttl_applies(origin: Origin, front: str, host: str) -> Callable[[], bool]:
    """Whether a response without caching headers is cached (by the environment's default
    TTL), on a path never asked before each time."""
    paths = (f"/d{i}" for i in itertools.count())

    def cached() -> bool:
        path = next(paths)
        origin.answers[path] = Answer(headers={})
        cache_label(front, host, path)
        return cache_label(front, host, path) == "HIT"

    return cached


def _redirects(origin: Origin, front: str, host: str) -> Callable[[], bool]:
    """Whether /old (an uncacheable page of the origin) is redirected to /new."""
    origin.answers["/old"] = Answer(body=b"the old page")

    def redirected() -> bool:
        answer = httpx.get(front + "/old", headers={"Host": host}, timeout=10)
        return answer.status_code == 301 and answer.headers.get("location") == "/new"

    return redirected


@dataclass(frozen=True)
class Change:
    method: str
    path: str  # under the environment
    body: dict[str, object]
    shows: Callable[[Origin, str, str], Callable[[], bool]]  # (origin, front, host) -> check


CHANGES = {
    "a cache setting": Change("PATCH", "/cache", {"default_ttl": 60}, _default_ttl_applies),
    "a redirect set": Change(
        "PUT", "/redirects", {"rules": [{"from": "/old", "to": "/new", "status": 301}]}, _redirects
    ),
}


def _serving(cluster: Cluster, origin: Origin, env: Environment) -> None:
    """Both edges know the environment (so what is measured next is the change alone)."""
    origin.answers["/known"] = Answer(body=b"known")
    for name, front in cluster.fronts.items():
        until(partial(_known, front, env.hostnames[0]), f"the environment on the {name} edge")


@pytest.mark.parametrize("what", CHANGES)
def test_a_configuration_change_through_one_api_is_in_force_on_both_edges_within_1_s(
    cluster: Cluster, world: World, database: Database, origin: Origin, what: str
) -> None:
    change = CHANGES[what]
    env = world.hosted_environment(origin.url)
    _serving(cluster, origin, env)
    checks = {
        name: change.shows(origin, front, env.hostnames[0])
        for name, front in cluster.fronts.items()
    }
    assert [check() for check in checks.values()] == [False, False]
    answer = httpx.request(
        change.method,
        f"{cluster.apis[1].url}/v1/sites/{env.site_id}/environments/{env.id}{change.path}",
        headers=owner_headers(world, database, env),
        json=change.body,
    )
    changed_at = time.monotonic()
    assert answer.status_code == 200, answer.text
    # From the API's answer until each edge shows the change (the second edge's time includes
    # the wait for the first: an upper bound).
    for name, check in checks.items():
        until(check, f"{what} on the {name} edge")
        took = time.monotonic() - changed_at
        assert took <= PROMISE_SECONDS, f"{name}: in force after {took:.2f} s"


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
