"""GCRA on both backends, driven with a pinned clock (the Redis script takes `now` too)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from forge.ratelimit.backends import Backend, InProcessBackend, RedisBackend
from forge.ratelimit.limiter import budget_of
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


def admitted(backend: Backend, key: str, limit: int, count: int, now: int) -> int:
    return sum(backend.spend(key, limit, WINDOW, 1, now).allowed for _ in range(count))


@pytest.mark.parametrize("limit", [1, 5, 7, 100])
def test_a_full_bucket_admits_exactly_the_limit(backend: Backend, limit: int) -> None:
    assert admitted(backend, "k", limit, limit + 5, T0) == limit


def test_remaining_counts_down_and_reset_is_when_full_again(backend: Backend) -> None:
    first = budget_of("create", 5, WINDOW, backend.spend("k", 5, WINDOW, 1, T0))
    assert (first.remaining, first.allowed, first.retry_after) == (4, True, 0)
    assert first.reset == T0 // 1_000_000 + 12  # one unit takes 60/5 s to come back
    for _ in range(4):
        last = budget_of("create", 5, WINDOW, backend.spend("k", 5, WINDOW, 1, T0))
    assert (last.remaining, last.reset, last.retry_after) == (0, T0 // 1_000_000 + 60, 12)
    refused = budget_of("create", 5, WINDOW, backend.spend("k", 5, WINDOW, 1, T0 + 1_000_000))
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
        assert backend.spend("k", 3, WINDOW, 0, T0).allowed
    assert admitted(backend, "k", 3, 5, T0) == 3
    look = budget_of("read", 3, WINDOW, backend.spend("k", 3, WINDOW, 0, T0))
    assert look.remaining == 0


def test_buckets_are_independent(backend: Backend) -> None:
    assert admitted(backend, "a", 2, 5, T0) == 2
    assert admitted(backend, "b", 2, 5, T0) == 2


def test_the_redis_script_is_exact_under_threads() -> None:
    """16 threads, 4 connections' worth of contention, the server's own clock: exactly 100."""
    prefix = redis_prefix()
    shared = RedisBackend(REDIS_URL, prefix)
    hour = 3_600_000_000  # one unit per 36 s: nothing refills while the test runs
    results: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        mine = [shared.spend("k", 100, hour, 1).allowed for _ in range(25)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shared.close()
    forget_prefix(prefix)
    assert (len(results), sum(results)) == (400, 100)


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
