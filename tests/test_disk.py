"""Scanning the database files for plaintexts must not cost the test process its SQLite locks
(see tests/disk.py): commits made after a scan stay visible to every other process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from forge.db import Database
from tests.disk import sqlite_file_bytes

_OPEN_AND_CLOSE = (
    "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM t').fetchall()"
)
_COUNT = (
    "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])"
)


def _in_another_process(program: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", program, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def scanned(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    """An SQLite database of its own (WAL mode, as Forge opens it) and its path."""
    path = tmp_path / "scanned.db"
    database = Database(f"sqlite:///{path}")
    yield database, path
    database.dispose()


def test_commits_after_a_scan_are_seen_by_other_processes(
    scanned: tuple[Database, Path],
) -> None:
    database, path = scanned
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    assert b"CREATE TABLE t" in sqlite_file_bytes(path)
    # Another process that closes its only connection checkpoints and deletes the WAL only
    # if it believes itself the last user: it must not, this process still is one.
    _in_another_process(_OPEN_AND_CLOSE, str(path))
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
    assert _in_another_process(_COUNT, str(path), "SELECT count(*) FROM t") == "2"


def test_a_scan_reads_the_wal_too(scanned: tuple[Database, Path]) -> None:
    database, path = scanned
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (s TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('canary-in-the-wal-7f3a')"))
    assert path.with_name("scanned.db-wal").stat().st_size > 0
    assert b"canary-in-the-wal-7f3a" in sqlite_file_bytes(path)
