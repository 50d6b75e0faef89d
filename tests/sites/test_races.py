"""Requests racing for the same unique name: exactly one wins, the other gets a 409 (never a
500). Each race runs for several rounds, released together by a barrier, so an interleaving
that breaks shows up on every run rather than once in a while."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.config import Settings
from tests.factories import Key, World

Send = Callable[[TestClient, int], httpx.Response]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Each race spends several creates with one key; the create bucket is not under test."""
    return settings.model_copy(update={"ratelimit_create": 1000})


def _race(app: FastAPI, send: Send, clients: int = 2) -> list[int]:
    """Run `send(client, n)` from several clients (own event loops) released at one instant."""
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with TestClient(app) as client:
                barrier.wait(timeout=10)
                statuses.append(send(client, n).status_code)
        except BaseException as err:  # surfaced in the main thread below
            failures.append(err)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    return sorted(statuses)


def _rounds(app: FastAPI, rounds: int, make: Callable[[int], Send]) -> list[list[int]]:
    return [_race(app, make(r)) for r in range(rounds)]


def test_two_creates_of_the_same_site_slug(app: FastAPI, api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    world.site(team, slug="first")  # the default project exists: only the slug is contested

    def make(r: int) -> Send:
        return lambda c, _: c.post("/v1/sites", headers=key.headers, json={"slug": f"race-{r}"})

    assert _rounds(app, 5, make) == [[201, 409]] * 5
    assert len(api.get("/v1/sites", headers=key.headers).json()["data"]) == 6


def test_a_teams_first_sites_created_at_once(app: FastAPI, api: TestClient, world: World) -> None:
    def first_sites(key: Key) -> Send:
        return lambda c, n: c.post("/v1/sites", headers=key.headers, json={"slug": f"s{n}"})

    results = []
    for _ in range(10):
        key = world.owner_key()
        results.append(_race(app, first_sites(key), clients=4))
        projects = api.get("/v1/projects", headers=key.headers).json()["data"]
        assert [p["slug"] for p in projects] == ["default"]
    assert results == [[201] * 4] * 10


def test_two_creates_of_the_same_project_slug(app: FastAPI, world: World) -> None:
    key = world.owner_key()

    def make(r: int) -> Send:
        return lambda c, _: c.post("/v1/projects", headers=key.headers, json={"slug": f"p{r}"})

    assert _rounds(app, 5, make) == [[201, 409]] * 5


def test_two_creates_of_the_same_environment_name(
    app: FastAPI, api: TestClient, world: World
) -> None:
    team = world.team()
    key = world.owner_key(team)
    site = world.site(team)
    path = f"/v1/sites/{site.id}/environments"

    def make(r: int) -> Send:
        return lambda c, _: c.post(path, headers=key.headers, json={"name": f"env-{r}"})

    assert _rounds(app, 20, make) == [[201, 409]] * 20
    assert len(api.get(f"{path}?limit=100", headers=key.headers).json()["data"]) == 20


def test_two_environments_claiming_one_hostname(
    app: FastAPI, api: TestClient, world: World
) -> None:
    team = world.team()
    key = world.owner_key(team)
    site = world.site(team)
    path = f"/v1/sites/{site.id}/environments"

    def make(r: int) -> Send:
        def claim(client: TestClient, n: int) -> httpx.Response:
            body = {"name": f"env-{r}-{n}", "hostnames": [f"www{r}.example.com"]}
            response: httpx.Response = client.post(path, headers=key.headers, json=body)
            return response

        return claim

    assert _rounds(app, 10, make) == [[201, 409]] * 10
    envs = api.get(f"{path}?limit=100", headers=key.headers).json()["data"]
    assert sorted(h for e in envs for h in e["hostnames"]) == [
        f"www{r}.example.com" for r in range(10)
    ]
