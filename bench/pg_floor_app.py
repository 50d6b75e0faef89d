"""The floor under (c): `bare_app`'s route plus the two look-ups Forge's authenticated GET makes
(the key by its secret's hash, the site by id: Forge's own statements), run three ways on one
process, so `bench/pg_floor.py` can say how far any Forge design could get on PostgreSQL.

`/thread/…`: both on a pooled sync connection in a worker thread (Forge's design: one hop per
request); `/inline/…`: the same, on the event loop (blocking it); `/async/…`: psycopg's async
connection on the loop; `/async-one/…`: both as one statement (one round trip), async.
Configured by FLOOR_DSN, FLOOR_HASH and FLOOR_SITE."""

from __future__ import annotations

import asyncio
import os
import queue
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import psycopg
from fastapi import FastAPI

from bare_app import SITE
from forge.keys.principal import _LOOKUP
from forge.sites.service import _SITE_BY_ID

# Both look-ups as one statement: what merging stage 1's read into stage 4's would save.
_BOTH = f"SELECT * FROM ({_LOOKUP.postgresql}) AS k CROSS JOIN ({_SITE_BY_ID.postgresql}) AS s"  # noqa: S608 (two constant statements)
POOL = 16  # as forge.db.POOL_SIZE
DSN, HASH, SITE_ID = os.environ["FLOOR_DSN"], os.environ["FLOOR_HASH"], os.environ["FLOOR_SITE"]
BODY = {"data": SITE, "request_id": "req_01M84SB0WQ0NPXQKGJA17SSVK3"}
_sync: queue.Queue[psycopg.Connection[Any]] = queue.Queue()
_async: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
_threads = anyio.CapacityLimiter(POOL)


@asynccontextmanager
async def _pools(_app: FastAPI) -> AsyncIterator[None]:
    for _ in range(POOL):
        _sync.put(psycopg.connect(DSN, autocommit=True))
        _async.put_nowait(await psycopg.AsyncConnection.connect(DSN, autocommit=True))
    yield


app = FastAPI(lifespan=_pools)


def _two_look_ups() -> None:
    connection = _sync.get()
    try:
        assert connection.execute(_LOOKUP.postgresql, (HASH,)).fetchone() is not None
        assert connection.execute(_SITE_BY_ID.postgresql, (SITE_ID,)).fetchone() is not None
    finally:
        _sync.put(connection)


@app.get("/thread/v1/sites/{site}")
async def in_a_thread(site: str):  # type: ignore[no-untyped-def]
    await anyio.to_thread.run_sync(_two_look_ups, limiter=_threads)
    return BODY


@app.get("/inline/v1/sites/{site}")
async def on_the_loop(site: str):  # type: ignore[no-untyped-def]
    _two_look_ups()
    return BODY


@app.get("/async/v1/sites/{site}")
async def async_driver(site: str):  # type: ignore[no-untyped-def]
    connection = await _async.get()
    try:
        key = await (await connection.execute(_LOOKUP.postgresql, (HASH,))).fetchone()
        found = await (await connection.execute(_SITE_BY_ID.postgresql, (SITE_ID,))).fetchone()
        assert key is not None and found is not None
    finally:
        _async.put_nowait(connection)
    return BODY


@app.get("/async-one/v1/sites/{site}")
async def async_one_statement(site: str):  # type: ignore[no-untyped-def]
    connection = await _async.get()
    try:
        both = await (await connection.execute(_BOTH, (HASH, SITE_ID))).fetchone()
        assert both is not None
    finally:
        _async.put_nowait(connection)
    return BODY
