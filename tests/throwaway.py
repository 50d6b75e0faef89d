"""Throw-away PostgreSQL databases, for the test suite and the benches alike (bench/common.py
imports this module: one way to make and drop them)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_SERVER = os.environ.get("FORGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def postgres_database(label: str, server: str = PG_SERVER) -> Iterator[str]:
    """The URL of a new database on `server` (its name says `label`), dropped afterwards."""
    name = f"forge_{label}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
