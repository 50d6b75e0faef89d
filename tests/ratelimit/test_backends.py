"""GCRA on both backends, driven with a pinned clock (the Redis script takes `now` too).

Each test drives its backend on one event loop (`run`), as a process does, so the Redis
backend's connections are opened and closed on the loop that uses them."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from forge.ratelimit.backends import (
    GCRA_SCRIPT,
    Backend,
    InProcessBackend,
    RedisBackend,
    RedisScript,
    Verdict,
)
from forge.ratelimit.limiter import budget_of
from tests.ports import free_port
from tests.ratelimit.conftest import PATIENT_SECONDS, REDIS_URL, forget_prefix, redis_prefix

WINDOW = 60_000_000  # µs
T0 = 1_800_000_000_000_000  # a fixed "now", µs


SHORT = 0.25  # the production default: for a Redis that is down or silent
Run = asyncio.Runner


@pytest.fixture
def run() -> Iterator[Run]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture
def backend(backend_kind: str, run: Run) -> Iterator[Backend]:
    if backend_kind == "in-process":
        yield InProcessBackend()
        return
    prefix = redis_prefix()
    redis_backend = RedisBackend(REDIS_URL, prefix, PATIENT_SECONDS)
    yield redis_backend
    run.run(redis_backend.aclose())
    forget_prefix(prefix)


def spend(run: Run, backend: Backend, key: str, limit: int, cost: int, now: int | None) -> Verdict:
    return run.run(backend.spend(key, limit, WINDOW, cost, now))


def admitted(run: Run, backend: Backend, key: str, limit: int, count: int, now: int) -> int:
    async def spend_all() -> int:
        return sum(
            [(await backend.spend(key, limit, WINDOW, 1, now)).allowed for _ in range(count)]
        )

    return run.run(spend_all())


@pytest.mark.parametrize("limit", [1, 5, 7, 100])
def test_a_full_bucket_admits_exactly_the_limit(run: Run, backend: Backend, limit: int) -> None:
    assert admitted(run, backend, "k", limit, limit + 5, T0) == limit


def test_remaining_counts_down_and_reset_is_when_full_again(run: Run, backend: Backend) -> None:
    first = budget_of("create", 5, WINDOW, spend(run, backend, "k", 5, 1, T0))
    assert (first.remaining, first.allowed, first.retry_after) == (4, True, 0)
    assert first.reset == T0 // 1_000_000 + 12  # one unit takes 60/5 s to come back
    assert admitted(run, backend, "k", 5, 3, T0) == 3
    last = budget_of("create", 5, WINDOW, spend(run, backend, "k", 5, 1, T0))
    assert (last.remaining, last.reset, last.retry_after) == (0, T0 // 1_000_000 + 60, 12)
    refused = budget_of("create", 5, WINDOW, spend(run, backend, "k", 5, 1, T0 + 1_000_000))
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 11)


def test_the_window_slides_one_unit_per_interval(run: Run, backend: Backend) -> None:
    assert admitted(run, backend, "k", 10, 10, T0) == 10
    interval = WINDOW // 10
    assert admitted(run, backend, "k", 10, 3, T0 + interval - 1) == 0
    assert admitted(run, backend, "k", 10, 3, T0 + interval) == 1
    assert admitted(run, backend, "k", 10, 10, T0 + WINDOW // 2) == 4
    assert admitted(run, backend, "k", 10, 20, T0 + 10 * WINDOW) == 10


def test_no_burst_of_twice_the_limit_at_a_minute_boundary(run: Run, backend: Backend) -> None:
    boundary = (T0 // WINDOW + 1) * WINDOW
    assert admitted(run, backend, "k", 100, 100, boundary - 1000) == 100
    # A fixed window would start afresh here and admit another 100 within 2 ms.
    assert admitted(run, backend, "k", 100, 100, boundary + 1000) == 0


def test_looking_spends_nothing(run: Run, backend: Backend) -> None:
    for _ in range(10):
        assert spend(run, backend, "k", 3, 0, T0).allowed
    assert admitted(run, backend, "k", 3, 5, T0) == 3
    look = budget_of("read", 3, WINDOW, spend(run, backend, "k", 3, 0, T0))
    assert look.remaining == 0


def test_buckets_are_independent(run: Run, backend: Backend) -> None:
    assert admitted(run, backend, "a", 2, 5, T0) == 2
    assert admitted(run, backend, "b", 2, 5, T0) == 2


def test_the_redis_script_is_exact_under_concurrency(run: Run) -> None:
    """400 spends in flight at once through two processes' worth of pools, on the server's
    own clock."""
    prefix = redis_prefix()
    one = RedisBackend(REDIS_URL, prefix, PATIENT_SECONDS)
    two = RedisBackend(REDIS_URL, prefix, PATIENT_SECONDS)
    hour = 3_600_000_000  # one unit per 36 s: nothing refills while the test runs

    async def hammer() -> list[Verdict]:
        spends = [b.spend("k", 100, hour, 1) for _ in range(200) for b in (one, two)]
        results = await asyncio.gather(*spends)
        await one.aclose()
        await two.aclose()
        return results

    results = run.run(hammer())
    forget_prefix(prefix)
    assert (len(results), sum(v.allowed for v in results)) == (400, 100)
    assert one.health() == two.health() == "ok"


def test_the_script_is_loaded_again_when_redis_forgot_it(run: Run) -> None:
    """A script Redis has never seen (a fresh comment makes a fresh SHA): EVALSHA answers
    NOSCRIPT, and the client loads it and runs it in the same call."""
    script = RedisScript(REDIS_URL, f"return {{1, 2, 3}} -- {uuid.uuid4()}", PATIENT_SECONDS)
    assert run.run(script(["k"], [])) == [1, 2, 3]
    run.run(script.aclose())


def test_spends_refused_for_a_forgotten_script_are_counted_once_each(run: Run) -> None:
    """Redis without the script (restarted, flushed): a batch of concurrent spends is refused
    NOSCRIPT as a whole, the script is loaded and only the refused spends go again, so the
    bucket counts each spend exactly once."""
    prefix = redis_prefix()
    fresh = f"{GCRA_SCRIPT}\n-- {uuid.uuid4()}"  # a SHA this Redis has never seen
    backend = RedisBackend(
        REDIS_URL,
        prefix,
        PATIENT_SECONDS,
        script=lambda url, _, timeout: RedisScript(url, fresh, timeout),
    )

    async def burst() -> list[Verdict]:
        verdicts = await asyncio.gather(*(backend.spend("k", 5, WINDOW, 1, T0) for _ in range(8)))
        await backend.aclose()
        return verdicts

    verdicts = run.run(burst())
    stored = redis.Redis.from_url(REDIS_URL)
    tat = int(stored.get(prefix + "rl:k") or 0)
    stored.close()
    forget_prefix(prefix)
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 3
    assert tat == T0 + 5 * WINDOW // 5  # five spends stored, none twice
    assert backend.health() == "ok"


def test_a_database_number_in_the_url_is_selected(run: Run) -> None:
    prefix = redis_prefix()
    on_db_1 = RedisBackend(REDIS_URL.rsplit("/", 1)[0] + "/1", prefix, PATIENT_SECONDS)
    assert admitted(run, on_db_1, "k", 2, 3, T0) == 2
    assert on_db_1.health() == "ok"
    run.run(on_db_1.aclose())
    db_1 = redis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/1")
    assert db_1.exists(prefix + "rl:k")
    db_1.delete(prefix + "rl:k")
    db_1.close()


def test_redis_unreachable_counts_in_process_and_says_so(run: Run) -> None:
    down = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", redis_prefix(), SHORT)
    assert down.health() == "ok"
    assert admitted(run, down, "k", 3, 5, T0) == 3  # still limited, by this process
    assert down.health().startswith("redis unreachable (Error 111 connecting to 127.0.0.1:")
    run.run(down.aclose())


def test_a_redis_that_never_answers_times_out_to_in_process_counting(run: Run) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never replies
        silent.bind(("127.0.0.1", free_port()))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        mute = RedisBackend(url, redis_prefix(), SHORT)
        assert admitted(run, mute, "k", 2, 3, T0) == 2
        assert mute.health().startswith("redis unreachable (no reply within the timeout)")
        run.run(mute.aclose())


def test_counting_is_shared_again_once_redis_is_back(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RedisBackend, "RETRY_SECONDS", 0.0)
    port = free_port()
    backend = RedisBackend(f"redis://127.0.0.1:{port}/0", redis_prefix(), PATIENT_SECONDS)
    assert admitted(run, backend, "k", 3, 1, T0) == 1
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
        assert admitted(run, backend, "k", 3, 5, T0) == 3  # Redis's own fresh count
        assert backend.health() == "ok"
        client = redis.Redis(port=port)
        assert len(client.keys("*rl:k")) == 1
        client.close()
    finally:
        run.run(backend.aclose())
        server.terminate()
        server.wait(10)


def test_each_event_loop_gets_its_own_connections() -> None:
    """A connection belongs to the loop that opened it: a backend used from a second loop
    (TestClient starts one per client) opens its own, and closing one loop's leaves the
    other's working."""
    prefix = redis_prefix()
    backend = RedisBackend(REDIS_URL, prefix, PATIENT_SECONDS)
    with asyncio.Runner() as first, asyncio.Runner() as second:
        assert first.run(backend.spend("k", 5, WINDOW, 1, T0)).allowed
        assert second.run(backend.spend("k", 5, WINDOW, 1, T0)).allowed
        second.run(backend.aclose())
        verdict = first.run(backend.spend("k", 5, WINDOW, 1, T0))
        first.run(backend.aclose())
    forget_prefix(prefix)
    assert budget_of("read", 5, WINDOW, verdict).remaining == 2  # one count, three spends
    assert backend.health() == "ok"
