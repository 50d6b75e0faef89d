"""Statements run straight at the driver, without SQLAlchemy's compile, for the few look-ups
every request makes, and the decoding of what the drivers hand back.

`Reads` is a unit of work's autocommit look-ups (the key, the site, the environment);
`DriverSQL` one statement for it (and for `forge.db.run_driver`, the hot path's writes), written
once with `?` placeholders. SQLite hands back texts where PostgreSQL hands back datetimes and
JSON: `as_datetime` and `as_json` take either.
"""

from __future__ import annotations

import functools
import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine


class DriverSQL:
    """One statement for `Reads`, written with `?` placeholders."""

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = sql.replace("?", "%s")


class HeldReadConnections(threading.local):
    """Embedded SQLite: each thread keeps one autocommit read connection for `Reads` instead of
    a pool checkout and return per request (~10 µs, a twentieth of an authenticated GET;
    docs/benchmarks.md). Sharing one between the units a thread interleaves is safe: in
    autocommit a SELECT holds no transaction and `Reads` reads each cursor to its end, so no
    snapshot or lock outlives a statement. Detached from the pool (it never counts against a
    unit's connection); `close_all` closes every thread's on `Database.dispose`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._all: list[Any] = []  # every thread's, for close_all (appended under the GIL)
        self.connection: Any = None

    def take(self) -> Any:
        if self.connection is None:
            connection = self._engine.raw_connection()
            connection.detach()
            self._all.append(connection)
            self.connection = connection
        return self.connection

    def drop(self, connection: Any) -> None:
        """A connection that failed: the next `take` of this thread opens a new one."""
        if self.connection is connection:
            self.connection = None
        if connection in self._all:
            self._all.remove(connection)

    def close_all(self) -> None:
        held, self._all = self._all, []
        for connection in held:
            connection.close()
        self.connection = None


class Reads:
    """A unit of work's driver-level look-ups: the few every request makes (the key, the site),
    straight on a connection in autocommit, each seeing every commit made before it.
    Measured (docs/benchmarks.md): an indexed look-up costs ~9 µs on the SQLite driver against
    ~50–70 µs through SQLAlchemy Core and ~170 µs through an ORM session, and the session's
    BEGIN/COMMIT would add two round trips on PostgreSQL. The connection is taken on first use
    (pooled, or the thread's held one on SQLite) and handed back by `close`."""

    def __init__(
        self,
        engine: Engine | None,
        held: HeldReadConnections | None = None,
        *,
        postgresql: bool | None = None,
        errors: type[Exception] | None = None,
    ) -> None:
        """On `engine`'s pool (or `held`); a subclass with its own connections passes None
        and says which dialect and driver errors it has (`forge.loop_reads`)."""
        self._engine = engine
        self._held = held
        self._connection: Any = None
        if engine is not None:
            postgresql = engine.dialect.name == "postgresql"
            errors = engine.dialect.loaded_dbapi.Error
        assert postgresql is not None and errors is not None
        self._postgresql, self._errors = postgresql, errors

    def fetch_all(self, statement: DriverSQL, params: tuple[Any, ...] = ()) -> list[Any]:
        sql = statement.postgresql if self._postgresql else statement.sqlite
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = self._connect()
            try:
                return self._rows(self._connection, sql, params)
            except self._errors:
                # A connection the server dropped (a restart) is replaced once, then it raises.
                self._discard(self._connection)
                self._connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def fetch_one(self, statement: DriverSQL, params: tuple[Any, ...]) -> Any:
        rows = self.fetch_all(statement, params)
        return rows[0] if rows else None

    def close(self) -> None:
        if self._connection is not None:
            self._release(self._connection)
        self._connection = None

    def _connect(self) -> Any:
        assert self._engine is not None
        return self._engine.raw_connection() if self._held is None else self._held.take()

    def _rows(self, connection: Any, sql: str, params: tuple[Any, ...]) -> list[Any]:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _discard(self, connection: Any) -> None:
        connection.invalidate()
        if self._held is not None:
            self._held.drop(connection)

    def _release(self, connection: Any) -> None:
        if self._held is None:
            connection.close()  # back to the pool; the thread's held one stays open


def as_datetime(value: Any) -> datetime | None:
    """SQLite hands back the stored text; PostgreSQL an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return _datetime_of_text(value)


@functools.lru_cache(maxsize=4096)
def _datetime_of_text(text: str) -> datetime:
    """Parsed once per distinct text: the same ones come back request after request (a key's
    expiry, a site's timestamps)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value
