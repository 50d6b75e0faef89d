"""The rate limiter across API processes on Redis: a key's budget is one budget whichever
process is asked."""

from __future__ import annotations

from functools import partial

import httpx

from forge.db import Database
from forge.ratelimit import service as limits
from tests.factories import Key, World
from tests.scale.conftest import Api, Cluster, until

LIMIT = 5


def _read_limit(api: Api, key: Key) -> int:
    """The key's `read` limit as this process applies it (`/v1/rate-limits` spends nothing)."""
    answer = httpx.get(f"{api.url}/v1/rate-limits", headers=key.headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return int(next(b["limit"] for b in answer.json()["data"]["buckets"] if b["kind"] == "read"))


def _limit_is(api: Api, key: Key, limit: int) -> bool:
    return _read_limit(api, key) == limit


def limited_key(world: World, database: Database, cluster: Cluster, limit: int) -> Key:
    """A key whose `read` budget is `limit` per window, in force on both API processes."""
    key = world.owner_key(world.team())
    with database.session() as session:
        limits.set_override(session, "key", key.id, "read", limit)
    for api in cluster.apis:
        # Each process reloads the overrides at most every 5 s.
        until(partial(_limit_is, api, key, limit), f"the override on {api.url}")
    return key


def alternated_reads(cluster: Cluster, key: Key, count: int) -> list[tuple[int, str]]:
    """`count` reads, one API process then the other: each answer's status and bucket."""
    answers = []
    for i in range(count):
        api = cluster.apis[i % 2]
        answer = httpx.get(f"{api.url}/v1/sites", headers=key.headers, timeout=10)
        answers.append((answer.status_code, answer.headers["x-ratelimit-bucket"]))
    return answers


def test_a_key_gets_exactly_its_limit_across_both_api_processes_then_429(
    cluster: Cluster, world: World, database: Database
) -> None:
    key = limited_key(world, database, cluster, LIMIT)
    first, second = cluster.apis
    answers = alternated_reads(cluster, key, 2 * LIMIT + 2)
    assert answers == [(200, "read")] * LIMIT + [(429, "read")] * (LIMIT + 2)
    # Both processes agree on what is left: nothing, and the next unit a window / limit away.
    for api in (first, second):
        refused = httpx.get(f"{api.url}/v1/sites", headers=key.headers, timeout=10)
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.json()["error"]["code"] == "rate_limited"
