"""POST …/redirects/test: the matched rule, the first hop and the whole chain, by the engine."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from forge.db import Database
from forge.idempotency.models import IdempotencyRecord
from tests.assertions import assert_error, data_of
from tests.factories import SecretsWorld, World, redirects_path

HOST = "www.example.com"


@pytest.fixture
def w(world: World) -> SecretsWorld:
    team = world.team()
    site = world.site(team)
    env = world.environment(site, "production", hostnames=(HOST,))
    return SecretsWorld(team=team, owner=world.owner_key(team), site=site, env=env)


def _put(api: TestClient, w: SecretsWorld, rules: list[dict[str, Any]]) -> Any:
    return data_of(api.put(redirects_path(w.env), json={"rules": rules}, headers=w.owner.headers))


def _test(api: TestClient, w: SecretsWorld, body: dict[str, str], **headers: str) -> Any:
    return api.post(
        redirects_path(w.env, "test"), json=body, headers={**w.owner.headers, **headers}
    )


def test_a_url_answers_the_rule_the_first_hop_and_the_chain(
    api: TestClient, w: SecretsWorld
) -> None:
    _put(
        api,
        w,
        [
            {"from": "/old/*", "to": "/mid/:splat?v=2", "comment": "first"},
            {"from": "/mid/:page", "to": "https://other.example.com/:page", "status": 302},
        ],
    )
    data = data_of(_test(api, w, {"url": "https://www.example.com/old/x/?v=1&utm=a"}))
    assert data == {
        "matched": True,
        "rule": {
            "from": "/old/*",
            "to": "/mid/:splat?v=2",
            "status": 301,
            "comment": "first",
            "index": 0,
        },
        "status": 301,
        "location": "/mid/x?v=2&utm=a",
        "chain": [
            {"location": "/mid/x?v=2&utm=a", "status": 301, "index": 0},
            {"location": "https://other.example.com/x?v=2&utm=a", "status": 302, "index": 1},
        ],
        "loop": False,
        "version": 1,
    }


def test_a_path_with_a_query_works_like_a_url(api: TestClient, w: SecretsWorld) -> None:
    _put(api, w, [{"from": "/a", "to": "/b"}])
    data = data_of(_test(api, w, {"path": "/a/?q=1#frag"}))
    assert (data["matched"], data["location"], data["rule"]["index"]) == (True, "/b?q=1", 0)


def test_no_match_is_matched_false(api: TestClient, w: SecretsWorld) -> None:
    data = data_of(_test(api, w, {"path": "/nothing"}))
    assert data == {
        "matched": False,
        "rule": None,
        "status": None,
        "location": None,
        "chain": [],
        "loop": False,
        "version": 0,
    }


def test_a_loop_through_another_host_of_the_url_is_flagged(
    api: TestClient, w: SecretsWorld
) -> None:
    # Off-site for the environment, so the set is valid; asked about that host, it loops.
    _put(
        api,
        w,
        [
            {"from": "/a", "to": "https://preview.example.com/b"},
            {"from": "/b", "to": "https://preview.example.com/a"},
        ],
    )
    data = data_of(_test(api, w, {"url": "https://preview.example.com/a"}))
    assert data["loop"] is True
    assert [hop["index"] for hop in data["chain"]] == [0, 1]
    assert data_of(_test(api, w, {"url": "https://www.example.com/a"}))["loop"] is False


def test_an_absolute_target_on_the_environments_own_host_is_followed_and_can_loop(
    api: TestClient, w: SecretsWorld
) -> None:
    chained = [
        {"from": "/a", "to": f"https://{HOST}/b"},
        {"from": "/b", "to": "/c"},
    ]
    data = _put(api, w, chained)
    assert [x["code"] for x in data["warnings"]] == ["chain"]
    assert len(data_of(_test(api, w, {"path": "/a"}))["chain"]) == 2
    looping = [{"from": "/a", "to": f"https://{HOST}/b"}, {"from": "/b", "to": "/a"}]
    response = api.put(redirects_path(w.env), json={"rules": looping}, headers=w.owner.headers)
    error = assert_error(response, 422, "validation_error")
    assert [e["code"] for e in error["errors"]] == ["loop", "loop"]


def test_the_test_call_sees_a_new_version_at_once(api: TestClient, w: SecretsWorld) -> None:
    _put(api, w, [{"from": "/a", "to": "/one"}])
    assert data_of(_test(api, w, {"path": "/a"}))["location"] == "/one"
    _put(api, w, [{"from": "/a", "to": "/two"}])
    data = data_of(_test(api, w, {"path": "/a"}))
    assert (data["location"], data["version"]) == ("/two", 2)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "https://x.example.com/", "path": "/"},
        {"url": "not a url"},
        {"url": "ftp://x.example.com/a"},
        {"path": "no-slash"},
        {"path": "/", "extra": 1},
    ],
)
def test_a_bad_body_is_422(api: TestClient, w: SecretsWorld, body: dict[str, str]) -> None:
    assert_error(_test(api, w, body), 422, "validation_error")


def test_the_test_call_spends_read_and_is_never_stored_as_idempotent(
    api: TestClient, w: SecretsWorld, database: Database
) -> None:
    _put(api, w, [{"from": "/a", "to": "/one"}])
    first = _test(api, w, {"path": "/a"}, **{"Idempotency-Key": "same-key"})
    assert first.headers["x-ratelimit-bucket"] == "read"
    _put(api, w, [{"from": "/a", "to": "/two"}])
    again = _test(api, w, {"path": "/a"}, **{"Idempotency-Key": "same-key"})
    assert data_of(again)["location"] == "/two"
    assert "idempotent-replayed" not in again.headers
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
