"""GCRA on both backends, driven with a pinned clock (the Redis script takes `now` too)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from forge.ratelimit.backends import Backend, InProcessBackend, RedisBackend, Verdict
from forge.ratelimit.limiter import budget_of
from forge.ratelimit.resp import ScriptClient
from tests.ratelimit.conftest import REDIS_URL, forget_prefix, redis_prefix

WINDOW = 60_000_000  # µs
T0 = 1_800_000_000_000_000  # a fixed "now", µs


@pytest.fixture
def backend(backend_kind: str) -> Iterator[Backend]:
    if backend_kind == "in-process":
        yield InProcessBackend()
        return
    prefix = redis_prefix()
    redis_backend = RedisBackend(REDIS_URL, prefix)
    yield redis_backend
    redis_backend.close()
    forget_prefix(prefix)


def spend(backend: Backend, key: str, limit: int, cost: int, now: int | None) -> Verdict:
    return asyncio.run(backend.spend(key, limit, WINDOW, cost, now))


def admitted(backend: Backend, key: str, limit: int, count: int, now: int) -> int:
    async def spend_all() -> int:
        return sum(
            [(await backend.spend(key, limit, WINDOW, 1, now)).allowed for _ in range(count)]
        )

    return asyncio.run(spend_all())


@pytest.mark.parametrize("limit", [1, 5, 7, 100])
def test_a_full_bucket_admits_exactly_the_limit(backend: Backend, limit: int) -> None:
    assert admitted(backend, "k", limit, limit + 5, T0) == limit


def test_remaining_counts_down_and_reset_is_when_full_again(backend: Backend) -> None:
    first = budget_of("create", 5, WINDOW, spend(backend, "k", 5, 1, T0))
    assert (first.remaining, first.allowed, first.retry_after) == (4, True, 0)
    assert first.reset == T0 // 1_000_000 + 12  # one unit takes 60/5 s to come back
    assert admitted(backend, "k", 5, 3, T0) == 3
    last = budget_of("create", 5, WINDOW, spend(backend, "k", 5, 1, T0))
    assert (last.remaining, last.reset, last.retry_after) == (0, T0 // 1_000_000 + 60, 12)
    refused = budget_of("create", 5, WINDOW, spend(backend, "k", 5, 1, T0 + 1_000_000))
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 11)


def test_the_window_slides_one_unit_per_interval(backend: Backend) -> None:
    assert admitted(backend, "k", 10, 10, T0) == 10
    interval = WINDOW // 10
    assert admitted(backend, "k", 10, 3, T0 + interval - 1) == 0
    assert admitted(backend, "k", 10, 3, T0 + interval) == 1
    assert admitted(backend, "k", 10, 10, T0 + WINDOW // 2) == 4
    assert admitted(backend, "k", 10, 20, T0 + 10 * WINDOW) == 10


def test_no_burst_of_twice_the_limit_at_a_minute_boundary(backend: Backend) -> None:
    boundary = (T0 // WINDOW + 1) * WINDOW
    assert admitted(backend, "k", 100, 100, boundary - 1000) == 100
    # A fixed window would start afresh here and admit another 100 within 2 ms.
    assert admitted(backend, "k", 100, 100, boundary + 1000) == 0


def test_looking_spends_nothing(backend: Backend) -> None:
    for _ in range(10):
        assert spend(backend, "k", 3, 0, T0).allowed
    assert admitted(backend, "k", 3, 5, T0) == 3
    look = budget_of("read", 3, WINDOW, spend(backend, "k", 3, 0, T0))
    assert look.remaining == 0


def test_buckets_are_independent(backend: Backend) -> None:
    assert admitted(backend, "a", 2, 5, T0) == 2
    assert admitted(backend, "b", 2, 5, T0) == 2


def test_the_redis_script_is_exact_under_concurrency() -> None:
    """400 spends in flight at once over two connections, on the server's own clock."""
    prefix = redis_prefix()
    one, two = RedisBackend(REDIS_URL, prefix), RedisBackend(REDIS_URL, prefix)
    hour = 3_600_000_000  # one unit per 36 s: nothing refills while the test runs

    async def hammer() -> list[Verdict]:
        spends = [b.spend("k", 100, hour, 1) for _ in range(200) for b in (one, two)]
        return await asyncio.gather(*spends)

    results = asyncio.run(hammer())
    one.close()
    two.close()
    forget_prefix(prefix)
    assert (len(results), sum(v.allowed for v in results)) == (400, 100)


def test_the_script_is_loaded_again_when_redis_forgot_it() -> None:
    client = ScriptClient(REDIS_URL, f"return {{1, 2, 3}} -- {uuid.uuid4()}", 1.0)
    assert asyncio.run(client.run(["k"], [])) == [1, 2, 3]


def test_a_database_number_in_the_url_is_selected() -> None:
    prefix = redis_prefix()
    on_db_1 = RedisBackend(REDIS_URL.rsplit("/", 1)[0] + "/1", prefix)
    assert admitted(on_db_1, "k", 2, 3, T0) == 2
    assert on_db_1.health() == "ok"
    assert redis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/1").exists(prefix + "rl:k")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_redis_unreachable_counts_in_process_and_says_so() -> None:
    down = RedisBackend(f"redis://127.0.0.1:{_closed_port()}/0", redis_prefix())
    assert down.health() == "ok"
    assert admitted(down, "k", 3, 5, T0) == 3  # still limited, by this process
    assert down.health().startswith("redis unreachable")
    down.close()


def test_a_redis_that_never_answers_times_out_to_in_process_counting() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = RedisBackend(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", redis_prefix())
        assert admitted(mute, "k", 2, 3, T0) == 2
        assert mute.health().startswith("redis unreachable (no reply within the timeout)")
        mute.close()


def test_counting_is_shared_again_once_redis_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RedisBackend, "RETRY_SECONDS", 0.0)
    port = _closed_port()
    backend = RedisBackend(f"redis://127.0.0.1:{port}/0", redis_prefix())
    assert admitted(backend, "k", 3, 1, T0) == 1
    assert backend.health() != "ok"
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        assert admitted(backend, "k", 3, 5, T0) == 3  # Redis's own fresh count
        assert backend.health() == "ok"
        client = redis.Redis(port=port)
        assert len(client.keys("*rl:k")) == 1
        client.close()
    finally:
        backend.close()
        server.terminate()
        server.wait(10)
