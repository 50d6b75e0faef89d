"""The seed-001 surface, POST /api/v1/clear-cache: as documented there, and run for real (the
seed's Node example verbatim, and curl) against `forge serve`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.cache.models import CachePurge
from forge.db import Database
from tests.assertions import assert_error, data_of
from tests.cache.conftest import CacheWorld
from tests.factories import World
from tests.processes import ForgeServer, forge_env

EXAMPLE = Path(__file__).with_name("seed_001_example.js")
CLEAR = "/api/v1/clear-cache"


def _body(cw: CacheWorld, **selectors: Any) -> dict[str, Any]:
    return {"team": cw.team.slug, "site": cw.site.slug, "environment": cw.env.name, **selectors}


def _x_api_key(secret: str) -> dict[str, str]:
    return {"x-api-key": secret}


def _selectors(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [p.selector for p in session.scalars(select(CachePurge).order_by(CachePurge.seq))]


def test_an_x_api_key_queues_the_purge_job(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    response = api.post(CLEAR, headers=_x_api_key(cw.owner.secret), json=_body(cw, paths=["/a/*"]))
    job = data_of(response, 202)
    assert job["type"] == "cache.purge" and job["status"] == "queued"
    assert job["resource"] == {"type": "environment", "id": cw.env.id}
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert response.headers["x-ratelimit-bucket"] == "write"
    assert data_of(api.get(f"/v1/jobs/{job['id']}", headers=cw.owner.headers))["id"] == job["id"]
    assert _selectors(database) == [
        {"type": "all", "tags": [], "paths": ["/a/*"], "cache_hashes": [], "mode": "hard"}
    ]


def test_bearer_works_too_and_each_selector_maps_to_the_purge(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    for selectors in ({}, {"surrogateKeys": ["product-1"]}, {"cacheHashes": ["abc123"]}):
        data_of(api.post(CLEAR, headers=cw.owner.headers, json=_body(cw, **selectors)), 202)
    everything, tags, hashes = _selectors(database)
    assert (everything["tags"], everything["paths"], everything["cache_hashes"]) == ([], [], [])
    assert tags["tags"] == ["product-1"] and hashes["cache_hashes"] == ["abc123"]


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"paths": ["/a"], "surrogateKeys": ["k"]}, ("paths", "surrogateKeys")),
        ({"surrogateKeys": ["k"], "cacheHashes": ["h"]}, ("surrogateKeys", "cacheHashes")),
        ({"paths": ["/a"], "cacheHashes": ["h"]}, ("paths", "cacheHashes")),
    ],
)
def test_two_selectors_at_once_is_a_400_naming_both(
    api: TestClient,
    cw: CacheWorld,
    database: Database,
    given: dict[str, Any],
    named: tuple[str, str],
) -> None:
    response = api.post(CLEAR, headers=_x_api_key(cw.owner.secret), json=_body(cw, **given))
    error = assert_error(response, 400, "invalid_request")
    assert named[0] in error["message"] and named[1] in error["message"]
    assert _selectors(database) == []


def test_all_three_at_once_names_all_three(api: TestClient, cw: CacheWorld) -> None:
    body = _body(cw, paths=["/a"], surrogateKeys=["k"], cacheHashes=["h"])
    error = assert_error(
        api.post(CLEAR, headers=cw.owner.headers, json=body), 400, "invalid_request"
    )
    assert "paths and surrogateKeys and cacheHashes" in error["message"]


def test_selectors_are_validated_like_the_v1_purge(api: TestClient, cw: CacheWorld) -> None:
    for selectors, param in (
        ({"paths": ["/q?x=1"]}, "paths.0"),
        ({"surrogateKeys": ["two words"]}, "surrogateKeys.0"),
        ({"paths": []}, "paths"),
        ({"paths": [f"/{i}" for i in range(257)]}, "paths"),
    ):
        response = api.post(CLEAR, headers=cw.owner.headers, json=_body(cw, **selectors))
        assert_error(response, 422, "validation_error", param)
    missing = {"team": cw.team.slug, "site": cw.site.slug}
    assert_error(
        api.post(CLEAR, headers=cw.owner.headers, json=missing),
        422,
        "validation_error",
        "environment",
    )


def test_wrong_names_are_404_and_other_teams_and_modes_learn_nothing(
    api: TestClient, cw: CacheWorld, world: World, database: Database
) -> None:
    key = _x_api_key(cw.owner.secret)
    for wrong, param in (
        ({"team": "not-my-team"}, "team"),
        ({"site": "no-such-site"}, "site"),
        ({"environment": "qa"}, "environment"),
    ):
        response = api.post(CLEAR, headers=key, json={**_body(cw), **wrong})
        assert_error(response, 404, "not_found", param)
    # Another team's key naming this (existing) environment: exactly the answer a made-up
    # team name gets.
    stranger = world.owner_key()
    error = assert_error(
        api.post(CLEAR, headers=_x_api_key(stranger.secret), json=_body(cw)), 404, "not_found"
    )
    assert error["param"] == "team"
    made_up = api.post(CLEAR, headers=_x_api_key(stranger.secret), json={**_body(cw), "team": "zz"})
    assert made_up.json()["error"]["message"].replace("'zz'", "X") == error["message"].replace(
        repr(cw.team.slug), "X"
    )
    live = world.owner_key(cw.team, mode="live")  # the site is a test-mode one
    assert_error(
        api.post(CLEAR, headers=_x_api_key(live.secret), json=_body(cw)), 404, "not_found", "site"
    )
    other_env = world.environment(cw.site, "staging")
    pinned = world.owner_key(cw.team, resource=("environment", other_env.id))
    assert_error(
        api.post(CLEAR, headers=_x_api_key(pinned.secret), json=_body(cw)),
        404,
        "not_found",
        "environment",
    )
    assert _selectors(database) == []


def test_no_key_is_401_and_a_key_without_cache_write_is_403(
    api: TestClient, cw: CacheWorld, world: World
) -> None:
    error = assert_error(api.post(CLEAR, json=_body(cw)), 401, "authentication")
    assert "x-api-key" in error["message"]
    assert_error(
        api.post(CLEAR, headers=_x_api_key("mfk_test_nonsense"), json=_body(cw)),
        401,
        "authentication",
    )
    reader = world.key(cw.team, world.member(cw.team), scopes=["cache:read"])
    error = assert_error(
        api.post(CLEAR, headers=_x_api_key(reader.secret), json=_body(cw)),
        403,
        "insufficient_scope",
    )
    assert "cache:write" in error["message"]


def test_an_idempotent_retry_queues_one_job(
    api: TestClient, cw: CacheWorld, database: Database
) -> None:
    headers = {**_x_api_key(cw.owner.secret), "Idempotency-Key": "release-42"}
    first = api.post(CLEAR, headers=headers, json=_body(cw))
    again = api.post(CLEAR, headers=headers, json=_body(cw))
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(_selectors(database)) == 1


# --- for real: the seed's Node example and curl against `forge serve` ---------------------


@pytest.fixture(scope="session")
def node_fetch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder with node-fetch@2 installed, as the seed's example needs."""
    folder = tmp_path_factory.mktemp("node")
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "node-fetch@2"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


@pytest.fixture
def server(database_url: str, tmp_path: Path, database: Database) -> Iterator[ForgeServer]:
    env = forge_env(database_url, tmp_path / "data", FORGE_WORKER_IN_PROCESS="on")
    served = ForgeServer(env, tmp_path / "serve.log")
    try:
        yield served
    finally:
        served.stop()


def _filled_in(server: ForgeServer, cw: CacheWorld) -> str:
    """The example with only APP_URL, the token and the names filled in."""
    script = EXAMPLE.read_text()
    for placeholder, value in (
        ("{{ APP_URL }}", server.url),
        ("'*****'", f"'{cw.owner.secret}'"),
        ("'my-team'", f"'{cw.team.slug}'"),
        ("'my-site'", f"'{cw.site.slug}'"),
    ):
        assert placeholder in script
        script = script.replace(placeholder, value)
    assert "const environment = 'production'" in script  # the fixture's environment name
    return script


def _waited(server: ForgeServer, cw: CacheWorld, location: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}{location}?wait=30", headers=cw.owner.headers, timeout=60)
    job: dict[str, Any] = data_of(response)
    return job


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_seed_001_node_example_runs_verbatim(
    node_fetch: Path, server: ForgeServer, cw: CacheWorld, tmp_path: Path, database: Database
) -> None:
    script = node_fetch / "clear-cache.js"
    script.write_text(_filled_in(server, cw))
    run = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    status_line, body_line = run.stdout.strip().splitlines()
    assert status_line == "Status: 202 Accepted"
    assert body_line.startswith("Body: ")
    job = json.loads(body_line.removeprefix("Body: "))["data"]
    assert job["type"] == "cache.purge" and job["resource"]["id"] == cw.env.id
    finished = _waited(server, cw, f"/v1/jobs/{job['id']}")
    assert finished["status"] == "succeeded", finished
    assert finished["result"]["purge"]["selector"]["paths"] == ["/some/path"]
    assert cw.owner.secret not in server.output()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_clear_cache_with_curl(server: ForgeServer, cw: CacheWorld) -> None:
    body = json.dumps(_body(cw, surrogateKeys=["product-1"]))
    run = subprocess.run(
        [
            "curl", "-sS", "-i", "-X", "POST", f"{server.url}{CLEAR}",
            "-H", "content-type: application/json",
            "-H", f"x-api-key: {cw.owner.secret}",
            "-d", body,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    head, _, payload = run.stdout.partition("\n\n")  # text mode turned CRLF into LF
    assert head.startswith("HTTP/1.1 202"), head
    location = next(
        line.split(":", 1)[1].strip()
        for line in head.splitlines()
        if line.lower().startswith("location:")
    )
    job = json.loads(payload)["data"]
    assert location == f"/v1/jobs/{job['id']}"
    finished = _waited(server, cw, location)
    assert finished["status"] == "succeeded"
    assert finished["result"]["purge"]["selector"]["tags"] == ["product-1"]
