"""`Database.run_reads` on PostgreSQL: a stage's look-ups on the async driver, on the loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

import psycopg
import pytest
from sqlalchemy import create_engine, text

from forge.db import Database
from forge.driver import DriverSQL
from forge.errors import ServiceUnavailable
from forge.http.access import Access
from forge.http.context import REQUEST_ID
from forge.loop_reads import LoopPool, LoopReads, current_pool
from forge.principal import Principal
from forge.ratelimit.limiter import OverrideCache, OverrideTable
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="the async driver: PostgreSQL")

SLEEP = DriverSQL("SELECT pg_sleep(?), ?")
ECHO = DriverSQL("SELECT ?")
BACKEND_PID = DriverSQL("SELECT pg_backend_pid()")


def _read(database: Database, statement: DriverSQL, params: tuple[Any, ...]) -> Any:
    reads = database.reads()
    try:
        return reads.fetch_one(statement, params)
    finally:
        reads.close()


def _one_connection_pool(database: Database) -> LoopPool:
    url = database.read_engine.url.set(drivername="postgresql")
    return LoopPool(url.render_as_string(hide_password=False), size=1, timeout=0.2)


def test_a_stage_reads_on_the_loop_through_the_async_driver(database: Database) -> None:
    seen: dict[str, Any] = {}

    def stage() -> Any:
        seen["thread"] = threading.get_ident()
        seen["reads"] = type(database.reads())
        return _read(database, ECHO, ("here",))

    async def main() -> Any:
        seen["loop thread"] = threading.get_ident()
        return await database.run_reads(stage)

    assert asyncio.run(main()) == ("here",)
    assert seen["thread"] == seen["loop thread"]
    assert seen["reads"] is LoopReads
    assert current_pool() is None  # outside a stage, `reads` is the pool's again


def test_a_slow_look_up_does_not_hold_up_another_stage(database: Database) -> None:
    finished: list[str] = []

    def stage(name: str, seconds: float) -> None:
        _read(database, SLEEP, (seconds, name))
        finished.append(name)

    async def main() -> None:
        slow = asyncio.create_task(database.run_reads(stage, "slow", 1.0))
        await asyncio.sleep(0)  # the slow one has sent its statement
        await database.run_reads(stage, "fast", 0.0)
        assert finished == ["fast"]
        await slow

    asyncio.run(main())
    assert finished == ["fast", "slow"]


def test_a_failed_statement_is_raised_in_the_stage(database: Database) -> None:
    def stage() -> None:
        _read(database, DriverSQL("SELECT * FROM no_such_table"), ())

    with pytest.raises(psycopg.errors.UndefinedTable):
        asyncio.run(database.run_reads(stage))


def test_a_connection_the_server_dropped_is_replaced_once(
    database: Database, database_url: str
) -> None:
    async def main() -> tuple[Any, Any]:
        first = await database.run_reads(_read, database, BACKEND_PID, ())
        killer = create_engine(database_url)
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first[0]})
        killer.dispose()
        return first, await database.run_reads(_read, database, BACKEND_PID, ())

    first, second = asyncio.run(main())
    assert second[0] != first[0]


def test_no_connection_within_the_pool_timeout_is_a_503(database: Database) -> None:
    pool = _one_connection_pool(database)

    async def main() -> None:
        held = await pool.take()
        try:
            with pytest.raises(ServiceUnavailable):
                await database_with(pool).run_reads(_read, database, ECHO, (1,))
        finally:
            pool.give_back(held)
            pool.close()

    def database_with(pool: LoopPool) -> Database:
        database._loop_pools[asyncio.get_running_loop()] = pool  # this loop's, one connection
        return database

    asyncio.run(main())


def test_a_stage_on_the_loop_cannot_open_a_session(database: Database) -> None:
    access = Access(database, cast(Principal, None), "127.0.0.1")  # who it is does not matter

    def stage() -> None:
        access.session  # noqa: B018 (the property opens it)

    with pytest.raises(RuntimeError, match="session opened by a stage running on the event loop"):
        asyncio.run(database.run_reads(stage))


def test_a_closed_or_busy_connection_frees_its_place_in_the_pool(database: Database) -> None:
    pool = _one_connection_pool(database)

    async def main() -> None:
        first = await pool.take()
        pool.discard(first)  # failed: closed
        second = await pool.take()
        assert second is not first and first.closed
        query = asyncio.create_task(second.execute("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.1)
        query.cancel()  # a request cancelled in the middle of a statement
        with pytest.raises(asyncio.CancelledError):
            await query
        pool.give_back(second)  # psycopg cancelled the statement: idle again, kept
        third = await pool.take()
        assert (await (await third.execute("SELECT 1")).fetchone()) == (1,)
        await third.close()
        pool.give_back(third)  # closed: dropped, its place freed
        fourth = await pool.take()
        assert fourth is not third and not fourth.closed
        pool.give_back(fourth)
        pool.close()

    asyncio.run(main())


def test_two_threads_replacing_a_closed_loops_pool_do_not_collide(database: Database) -> None:
    """Each thread's loop gets its own pool, and a closed loop's pool is closed by exactly one
    of them: the second thread is let in while the first is in the middle of it."""
    failures: list[BaseException] = []
    closed: list[str] = []
    others: list[threading.Thread] = []

    def other_thread() -> None:
        try:
            asyncio.run(database.run_reads(_read, database, ECHO, (2,)))
        except BaseException as err:
            failures.append(err)

    class ClosedLoop:
        looked_at = 0

        def is_closed(self) -> bool:
            ClosedLoop.looked_at += 1
            if ClosedLoop.looked_at == 1:  # the first thread is replacing it: the other comes
                others.append(threading.Thread(target=other_thread))
                others[0].start()
                others[0].join(timeout=2)  # it finishes here unless it waits for the first
            return True

    class ItsPool:
        def close(self) -> None:
            closed.append("closed")

    database._loop_pools[cast(Any, ClosedLoop())] = cast(Any, ItsPool())
    assert asyncio.run(database.run_reads(_read, database, ECHO, (1,))) == (1,)
    others[0].join(timeout=30)
    assert not others[0].is_alive()
    assert failures == []
    assert closed == ["closed"]


def test_a_stage_sees_the_requests_context(database: Database) -> None:
    def stage() -> str:
        return REQUEST_ID.get()

    async def main() -> str:
        REQUEST_ID.set("req_in_the_stage")
        return await database.run_reads(stage)

    assert asyncio.run(main()) == "req_in_the_stage"


def test_two_stages_refreshing_the_override_table_on_one_loop_do_not_deadlock(
    database: Database,
) -> None:
    """The second finds the first's reload under way (suspended in its look-up, on the same
    thread) and goes on with the table it has, instead of waiting on a lock the loop holds."""
    loads: list[str] = []

    def load() -> OverrideTable:
        loads.append("load")
        _read(database, SLEEP, (0.3, "overrides"))
        return {}

    cache = OverrideCache(load)

    async def both() -> None:
        await asyncio.gather(
            database.run_reads(cache.refresh_if_stale), database.run_reads(cache.refresh_if_stale)
        )

    runner = threading.Thread(target=asyncio.run, args=(both(),), daemon=True)
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "the two stages deadlocked on the override cache's lock"
    assert loads == ["load"]
