"""`forge.db` on embedded SQLite: how a unit of work begins."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from forge.db import Database


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "begin.db"
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        session.execute(text("CREATE TABLE t (x)"))
    yield database, path
    database.dispose()


def test_a_writing_unit_takes_the_write_lock_at_begin(embedded: tuple[Database, Path]) -> None:
    database, path = embedded
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA busy_timeout=0")
    with database.session() as session:
        session.connection()  # BEGIN IMMEDIATE, before any statement of the unit's own
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # the unit committed: the lock is free again
    other.execute("ROLLBACK")
    other.close()


def test_a_read_only_unit_takes_no_lock(embedded: tuple[Database, Path]) -> None:
    database, path = embedded
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA busy_timeout=0")
    with database.read_only() as session:
        session.execute(text("SELECT count(*) FROM t"))
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        other.execute("COMMIT")
    other.close()


def test_a_begin_that_fails_raises_as_sqlalchemy_raises(embedded: tuple[Database, Path]) -> None:
    """The BEGIN goes to the driver directly; its failure (here the busy timeout, with another
    writer holding the lock) is still SQLAlchemy's OperationalError, which callers catch."""
    database, path = embedded
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with database.engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            with pytest.raises(OperationalError, match="locked") as raised:
                connection.begin()
            assert isinstance(raised.value.orig, sqlite3.OperationalError)
            assert "BEGIN IMMEDIATE" in str(raised.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
