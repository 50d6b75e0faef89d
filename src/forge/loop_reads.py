"""PostgreSQL look-ups on the event loop: the pipeline's admission (the key, the path's
resources, an Idempotency-Key) through psycopg's async connection, with no worker thread.

Measured (`bench/pg_floor.py`, docs/architecture.md): at 64 clients a hop to a worker thread and
the GIL hand-offs around it cost more than the async driver's extra CPU per statement; the
route's look-ups in a thread served 0.18× a bare route, on the async connection 0.37×.

The stages stay plain functions over `Reads`. `run` executes one in a greenlet on the loop: when
it reads, `LoopReads` hands the driver's coroutine to the loop and the greenlet sleeps until the
rows come back, while the loop serves other requests. So the same code runs inline on SQLite,
in a thread for a unit of work that holds a session, and here, with nothing written twice.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from greenlet import getcurrent, greenlet
from sqlalchemy.exc import TimeoutError as PoolTimeout

from forge.driver import Reads

T = TypeVar("T")


class LoopPool:
    """Autocommit async connections of one event loop: at most `size` in use, opened on demand;
    a caller that cannot get one within `timeout` gets PoolTimeout (a 503)."""

    def __init__(self, conninfo: str, size: int, timeout: float, **connect: Any) -> None:
        self._conninfo, self._connect_args = conninfo, connect
        self._timeout = timeout
        self._slots = asyncio.Semaphore(size)  # one per connection in use
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def take(self) -> psycopg.AsyncConnection[Any]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except TimeoutError:
            raise PoolTimeout("no connection of the loop's pool in time") from None
        if self._idle:
            return self._idle.pop()
        try:
            return await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, **self._connect_args
            )
        except BaseException:
            self._slots.release()
            raise

    def give_back(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Kept for the next caller, unless it is closed or was left inside a statement (a
        cancelled request): then it is closed."""
        idle = psycopg.pq.TransactionStatus.IDLE
        if connection.closed or connection.info.transaction_status != idle:
            connection.pgconn.finish()
        else:
            self._idle.append(connection)
        self._slots.release()

    def discard(self, connection: psycopg.AsyncConnection[Any]) -> None:
        connection.pgconn.finish()
        self._slots.release()

    def close(self) -> None:
        """Closes the idle connections (synchronously: the loop may be gone)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.pgconn.finish()


class _OnTheLoop(greenlet):  # type: ignore[misc]
    """A stage run by `run`: its reads go to `pool` through the loop."""

    def __init__(self, work: Callable[[], Any], pool: LoopPool) -> None:
        super().__init__(work)
        self.pool = pool


def current_pool() -> LoopPool | None:
    """The loop's pool when called from a stage that `run` is running, else None."""
    current = getcurrent()
    return current.pool if isinstance(current, _OnTheLoop) else None


def wait(awaitable: Awaitable[T]) -> T:
    """From a stage `run` is running: the result of `awaitable`, awaited by the loop."""
    current = getcurrent()
    if not isinstance(current, _OnTheLoop):
        raise RuntimeError("LoopReads used outside loop_reads.run")
    return current.parent.switch(awaitable)  # type: ignore[no-any-return]


async def run(pool: LoopPool, work: Callable[[], T]) -> T:
    """`work()` on the loop; each awaitable it hands to `wait` is awaited here."""
    child = _OnTheLoop(work, pool)
    # A new greenlet starts in an empty context: the stage sees the request's (its id in logs),
    # as a worker thread's copy would.
    child.gr_context = contextvars.copy_context()
    request = child.switch()
    while not child.dead:
        try:
            answer = await request
        except BaseException as err:  # the stage decides what a failure means
            request = child.throw(err)
        else:
            request = child.switch(answer)
    return request  # type: ignore[no-any-return]


class LoopReads(Reads):
    """`Reads` on the loop's async connections (only inside `run`)."""

    def __init__(self, pool: LoopPool) -> None:
        super().__init__(None, postgresql=True, errors=psycopg.Error)
        self._pool = pool

    def _connect(self) -> Any:
        return wait(self._pool.take())

    def _rows(self, connection: Any, sql: str, params: tuple[Any, ...]) -> list[Any]:
        cursor = wait(connection.execute(sql, params))
        return list(wait(cursor.fetchall()))

    def _discard(self, connection: Any) -> None:
        self._pool.discard(connection)

    def _release(self, connection: Any) -> None:
        self._pool.give_back(connection)
