"""The rate limiter across API processes on Redis: a key's budget is one budget whichever
process is asked, and a Redis stopped and started again costs no request and no count."""

from __future__ import annotations

from functools import partial

import httpx
import redis

from forge.db import Database
from forge.ratelimit import service as limits
from tests.factories import Key, World
from tests.faults.services import PrivateRedis
from tests.scale.conftest import Api, Cluster, finished_job, request_purge, until

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


def _limiter_health(api: Api) -> str:
    answer = httpx.get(f"{api.url}/readyz", timeout=10)
    assert answer.status_code == 200, answer.text  # Redis is not fatal: the API serves on
    return str(answer.json()["data"]["checks"]["rate_limits"])


def _counting_in_redis(api: Api, key: Key) -> bool:
    """After one request (the limiter tries Redis again only when a request spends)."""
    answer = httpx.get(f"{api.url}/v1/sites", headers=key.headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return _limiter_health(api) == "ok"


def _purge_proved_by_both_edges(cluster: Cluster, world: World) -> None:
    team = world.team()
    env = world.environment(world.site(team), "production")
    headers = world.owner_key(team).headers
    job = request_purge(cluster.apis[0], env, headers, "t")
    done = finished_job(cluster.apis[1], job, headers)
    assert done["status"] == "succeeded", done
    assert len(done["result"]["edges"]) == 2


def test_redis_stopped_and_started_again_loses_nothing_and_every_process_recovers(
    cluster: Cluster, world: World, database: Database, private_redis: PrivateRedis
) -> None:
    spent = limited_key(world, database, cluster, LIMIT)
    assert alternated_reads(cluster, spent, 2) == [(200, "read")] * 2
    other = world.owner_key(world.team())
    pids = [process.pid for process in cluster.processes]
    # Redis restarted as an operator restarts it, keeping its data (RDB or AOF in production).
    with redis.Redis(port=private_redis.port) as client:
        client.save()
    private_redis.stop()

    # Down: every request is still answered (counted in-process), jobs and edges go on.
    assert alternated_reads(cluster, other, 4) == [(200, "read")] * 4
    for api in cluster.apis:
        assert _limiter_health(api).startswith("redis unreachable")
    _purge_proved_by_both_edges(cluster, world)

    private_redis.start()
    for api in cluster.apis:
        until(partial(_counting_in_redis, api, other), f"{api.url} counting in Redis again")
        api.wait_for_output("Redis reachable again; counting is shared again")
    # Nothing spent before the outage was forgotten, and the count is shared again: the key's
    # last three units, then refusals, whichever process is asked.
    answers = alternated_reads(cluster, spent, LIMIT)
    assert answers == [(200, "read")] * (LIMIT - 2) + [(429, "read")] * 2
    assert [process.pid for process in cluster.processes] == pids
    assert [process.process.poll() for process in cluster.processes] == [None] * len(pids)
