"""Engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
import psycopg
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from forge import loop_reads
from forge.driver import DriverSQL, HeldReadConnections, Reads
from forge.errors import ServiceUnavailable

log = logging.getLogger("forge.db")
P = ParamSpec("P")
R = TypeVar("R")

# A database that does not answer fails a request within these bounds (503), never hangs it.
CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 3.0
# Connections per process. A request's unit of work holds one from its first stage to its
# commit; at most POOL_SIZE units run at once, so the overflow is there for the short second
# session some take (an Idempotency-Key claim) and for background work.
POOL_SIZE, POOL_OVERFLOW = 16, 8

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back an aware datetime (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling emits no BEGIN before a SAVEPOINT, so a savepoint
    # opened first in a session became the whole transaction and was committed on release.
    # Turn it off and let SQLAlchemy's "begin" emit the BEGIN itself (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


READ_ONLY = "forge_read_only"


def _begin_sqlite(connection: Connection) -> None:
    """A unit of work that writes takes the write lock at BEGIN (BEGIN IMMEDIATE), which spares
    read-then-write transactions SQLITE_BUSY failures; a read-only one takes no lock at all
    (a deferred BEGIN: one consistent snapshot, never in a writer's way)."""
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    # Sent on the driver's own connection (isolation_level None: pysqlite sends nothing
    # itself): through `exec_driver_sql` this BEGIN was ~4% of a secret PUT's CPU. A failure
    # (the busy timeout, a full disk) is raised wrapped, as SQLAlchemy raises every other.
    try:
        connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as err:
        raise DBAPIError.instance(statement, (), err, sqlite3.Error) from err


def make_engine(url: str, read_only: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            execution_options={"forge_read_only": read_only},
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    connect_args = postgresql_connect_args()
    return create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        # Sessions check a pooled connection before use (a round trip); `Reads` instead
        # replaces a dropped one when it fails, which costs nothing on the hot path.
        pool_pre_ping=not read_only,
        connect_args=connect_args,
        **({"isolation_level": "AUTOCOMMIT"} if read_only else {}),
    )


def postgresql_connect_args() -> dict[str, Any]:
    """What every PostgreSQL connection is opened with, pooled or on the loop."""
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # Server side: a statement running longer is cancelled (the request gets a 503).
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000}",
        # Client side: a server that stops acknowledging what we send drops the connection.
        "tcp_user_timeout": STATEMENT_TIMEOUT_SECONDS * 1000,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
    }


UNAVAILABLE = "The database did not answer in time; retry shortly."
DISK_FULL = "The database's disk is full, so nothing was changed; retry once space is freed."


class Database:
    """The engine, the session factories and where units of work run; one per process.

    `run` is how the request pipeline reaches the database: on PostgreSQL a unit of work runs in
    a worker thread (the event loop never waits on a round trip), on embedded SQLite inline,
    where an indexed query costs less than the hop to a thread (docs/architecture.md)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.embedded = self.engine.dialect.name == "sqlite"
        # Read-only units: a deferred BEGIN on SQLite; on PostgreSQL autocommit, which spares
        # the BEGIN and COMMIT round trips (each statement sees every earlier commit). A pool
        # of its own, so no connection ever changes mode.
        self.read_engine = make_engine(url, read_only=True)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        event.listen(self.read_sessions, "before_flush", _refuse_writes)
        self.concurrent_units = POOL_SIZE
        self._threads = anyio.CapacityLimiter(POOL_SIZE + POOL_OVERFLOW)
        self._held = HeldReadConnections(self.read_engine) if self.embedded else None
        self._loop_pools: dict[asyncio.AbstractEventLoop, loop_reads.LoopPool] = {}
        self._loop_pools_lock = threading.Lock()  # held for no I/O: never across an await

    async def run(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `work` where database work belongs: inline on SQLite, in a thread otherwise.
        A database that does not answer becomes a 503 (ServiceUnavailable)."""
        if self.embedded:
            return unavailable_as_503(work, *args, **kwargs)
        return await anyio.to_thread.run_sync(
            lambda: unavailable_as_503(work, *args, **kwargs), limiter=self._threads
        )

    async def run_reads(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `work`, which only reads through `reads()`: inline on SQLite; on PostgreSQL on
        the event loop, its look-ups on the async driver (`forge.loop_reads`), no thread."""
        if self.embedded:
            return unavailable_as_503(work, *args, **kwargs)
        pool = self._loop_pool()
        return await loop_reads.run(pool, lambda: unavailable_as_503(work, *args, **kwargs))

    def _loop_pool(self) -> loop_reads.LoopPool:
        """The running loop's pool. Several loops may share this Database, one per thread (a
        test client's, say): the map changes under a lock, and a closed loop's pool is closed."""
        loop = asyncio.get_running_loop()
        pool = self._loop_pools.get(loop)
        if pool is not None:
            return pool
        with self._loop_pools_lock:
            for stale in [old for old in self._loop_pools if old.is_closed()]:
                self._loop_pools.pop(stale).close()
            conninfo = self.read_engine.url.set(drivername="postgresql")
            pool = self._loop_pools[loop] = loop_reads.LoopPool(
                conninfo.render_as_string(hide_password=False),
                POOL_SIZE,
                POOL_TIMEOUT_SECONDS,
                **postgresql_connect_args(),
            )
        return pool

    async def answers(self, within: float) -> bool:
        """Whether `SELECT 1` comes back within `within` seconds (for /readyz). A thread
        stuck on a silent server is left behind; its connection times out on its own."""
        try:
            with anyio.fail_after(within):
                await anyio.to_thread.run_sync(self._ping, abandon_on_cancel=True)
        except Exception:  # any failure to reach the database in time means not ready
            return False
        return True

    def _ping(self) -> None:
        with self.read_engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends cleanly, rolled back otherwise."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def reads(self) -> Reads:
        """Autocommit look-ups: on the loop's async connections inside `run_reads`, else on
        the read engine's pool (or this thread's held SQLite connection)."""
        pool = loop_reads.current_pool()
        if pool is not None:
            return loop_reads.LoopReads(pool)
        return Reads(self.read_engine, self._held)

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A unit of work that only reads, rolled back at the end (what it loaded stays
        usable, detached); on SQLite it takes no write lock, so polling readers (the purge
        job) never stand in a writer's way."""
        with self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            with Session(bind=connection) as session:
                try:
                    yield session
                finally:
                    session.expunge_all()
                    session.rollback()

    def dispose(self) -> None:
        if self._held is not None:
            self._held.close_all()
        with self._loop_pools_lock:
            for pool in self._loop_pools.values():
                pool.close()
            self._loop_pools.clear()
        self.engine.dispose()
        self.read_engine.dispose()


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only unit of work (GET/HEAD) tried to write")


def unavailable_as_503(work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    try:
        return work(*args, **kwargs)
    except PoolTimeout:
        log.warning("no pooled database connection within %s s", POOL_TIMEOUT_SECONDS)
        raise ServiceUnavailable(UNAVAILABLE) from None
    except Exception as err:
        message = _refusal(err)
        if message is None:
            raise
        log.warning("database unavailable: %s", str(err).strip().splitlines()[0])
        raise ServiceUnavailable(message) from None


def _refusal(err: Exception) -> str | None:
    """The 503's message when the failure is the database's state (down, slow, out of disk),
    which a retry can outlive; None for anything else, a bug of ours for the logs (500)."""
    if _is_unavailable(err):
        return UNAVAILABLE
    if _is_disk_full(err):
        return DISK_FULL
    return None


def _is_disk_full(err: Exception) -> bool:
    """SQLite could not grow its files (SQLITE_FULL, whose transaction it rolled back), or
    PostgreSQL's disk_full: the filesystem is out of space."""
    original = err.orig if isinstance(err, DBAPIError) else err
    if isinstance(original, sqlite3.Error):
        return original.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL
    return isinstance(original, psycopg.Error) and original.sqlstate == "53100"


# PostgreSQL's SQLSTATEs for "could not get an answer": connection exceptions (class 08), a
# statement cancelled by statement_timeout, the server shutting down or not yet accepting.
_UNAVAILABLE_STATES = ("08", "57014", "57P01", "57P02", "57P03")


def _is_unavailable(err: Exception) -> bool:
    """PostgreSQL unreachable, the connection lost, or a statement past its timeout; not a
    deadlock or a SQLite error, which are bugs of ours for the logs (500). Raised wrapped by
    SQLAlchemy, or as the driver's own (a raw connection's)."""
    if isinstance(err, DBAPIError):
        if err.connection_invalidated:
            return True
        err = err.orig if isinstance(err.orig, Exception) else err
    if not type(err).__module__.startswith("psycopg"):
        return False
    if not isinstance(err, psycopg.OperationalError):
        return False
    state = getattr(err, "sqlstate", None)
    return state is None or state.startswith(_UNAVAILABLE_STATES)


def run_driver(session: Session, statement: DriverSQL, params: list[tuple[Any, ...]]) -> list[Any]:
    """`statement` on the unit of work's own connection, in its transaction, straight at the
    driver: once per parameter tuple; the rows of a RETURNING for a single tuple. What `Reads`
    is to look-ups, for the writes of the hot path: a Core execute of even a prebuilt
    `UPDATE … RETURNING` measured ~4× the driver's own on SQLite (~105 µs against ~27 µs,
    loaded machine), ~7% of a secret PUT's CPU for its two statements. Parameters go in as the
    driver takes them (`stored_datetime` for a datetime column); rows come back as the driver
    gives them (`as_datetime`, `bool()` on SQLite)."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    sql = statement.postgresql if postgresql else statement.sqlite
    cursor = connection.connection.cursor()
    try:
        if len(params) != 1:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, params[0])
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


_DATETIME_BINDERS: dict[str, Callable[[Any], Any] | None] = {}


def stored_datetime(session: Session, value: datetime) -> Any:
    """A datetime as a `UTCDateTime` column stores it (through that type's own bind processing,
    once per dialect: SQLite's text form, the value itself for PostgreSQL), for `run_driver`."""
    dialect = session.get_bind().dialect
    if dialect.name not in _DATETIME_BINDERS:
        _DATETIME_BINDERS[dialect.name] = UTCDateTime().bind_processor(dialect)
    process = _DATETIME_BINDERS[dialect.name]
    return value if process is None else process(value)


@contextmanager
def unique_guard(session: Session, message: str, param: str | None = None) -> Iterator[None]:
    """Changes made in the block are flushed in a savepoint; a unique violation becomes a 409
    (which also settles two racing requests: one wins, the other gets the conflict)."""
    from forge.errors import Conflict

    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict(message, param=param) from None


def insert_if_absent(
    session: Session, model: type[Base], values: dict[str, Any] | list[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING (one row or many); how many rows it inserted. Settles a
    race on a unique key without a savepoint (pysqlite's SAVEPOINT outside a transaction commits on
    release, so `begin_nested` cannot protect the enclosing unit of work on SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(values).on_conflict_do_nothing()
    result: Any = session.execute(statement, execution_options={"synchronize_session": False})
    return int(result.rowcount)
