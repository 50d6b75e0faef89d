"""A hand-written read path for the queries every request makes (key look-up, site look-up).

Measured on SQLite (bench/README): the driver answers the key look-up in ~9 µs; through
SQLAlchemy Core it costs ~50–70 µs and through an ORM session ~170 µs, which alone would put
an authenticated GET under half the speed of a bare route. So these few statements go straight
to the driver on one autocommit connection per process (each statement sees every commit made
before it, in any process), guarded by a lock. Everything that writes uses ORM sessions.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine


class Query:
    """One statement written with `?` placeholders, rendered for the engine's driver."""

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = sql.replace("?", "%s")


def as_datetime(value: Any) -> datetime | None:
    """SQLite hands back the stored text; PostgreSQL an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


class FastReader:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgresql = engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._connection: Any = None

    def _driver_connection(self) -> Any:
        if self._connection is None:
            proxied = self._engine.raw_connection()
            connection: Any = proxied.driver_connection
            if self._postgresql:
                connection.autocommit = True
            self._proxied = proxied
            self._connection = connection
        return self._connection

    def _reset(self) -> None:
        if self._connection is not None:
            self._proxied.invalidate()
        self._connection = None

    def fetch_one(self, query: Query, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self._run(query, params, many=False)
        return rows[0] if rows else None

    def fetch_all(self, query: Query, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(query, params, many=True)

    def _run(self, query: Query, params: tuple[Any, ...], many: bool) -> list[tuple[Any, ...]]:
        sql = query.postgresql if self._postgresql else query.sqlite
        dbapi_error = self._engine.dialect.loaded_dbapi.Error
        with self._lock:
            for attempt in (1, 2):
                try:
                    cursor = self._driver_connection().cursor()
                    try:
                        cursor.execute(sql, params)
                        if many:
                            return list(cursor.fetchall())
                        row = cursor.fetchone()
                        return [row] if row is not None else []
                    finally:
                        cursor.close()
                except dbapi_error:
                    # A dropped connection (database restarted) is replaced once, then it raises.
                    self._reset()
                    if attempt == 2:
                        raise
        return []

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._proxied.close()
            self._connection = None
