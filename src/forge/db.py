"""Engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from forge.fastread import FastReader

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
    # Turn it off and let SQLAlchemy's "begin" emit BEGIN IMMEDIATE (below) instead; the
    # immediate write lock also spares read-then-write transactions SQLITE_BUSY failures.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


READ_ONLY = "forge_read_only"


def _begin_immediately(connection: Connection) -> None:
    # A unit of work that only reads (Database.read_only) takes no write lock: in WAL mode
    # it never blocks a writer, even when its process is frozen mid-transaction.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=8
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediately)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = FastReader(self.engine)

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
        self.reader.close()
        self.engine.dispose()


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
