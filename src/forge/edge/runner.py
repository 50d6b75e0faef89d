"""Starting and stopping an edge: on its own (`forge edge`) or beside the API (`forge serve`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from dataclasses import dataclass

import uvicorn

from forge.config import ConfigError, Settings
from forge.db import Database
from forge.edge.agent import Agent
from forge.edge.origin import OriginPool
from forge.edge.protocol import EdgeProtocol
from forge.edge.runtime import Edge
from forge.edge.store import Store
from forge.notify import Notifier, build_notifier
from forge.serving import Listening

log = logging.getLogger("forge.edge")


@dataclass
class RunningEdge:
    edge: Edge
    agent: Agent
    server: asyncio.Server
    address: str

    async def stop(self) -> None:
        self.server.close()
        for conn in list(self.edge.connections):
            conn.close()
        await self.server.wait_closed()
        await self.agent.stop()
        await self.edge.aclose()


async def start_edge(
    settings: Settings,
    database: Database,
    host: str,
    port: int,
    notifier: Notifier | None = None,
    edge: Edge | None = None,
    listening: socket.socket | None = None,
) -> RunningEdge:
    """Bind, register and load the configuration; serving once this returns. `edge`: one
    built with another cache tier (forge.edge.varnish.tier), else the built-in cache.
    `listening`: the socket on `host:port`, bound already (`forge serve` binds its addresses
    before it starts anything)."""
    if settings.edge_lease_seconds < 2:
        raise ConfigError(
            "FORGE_EDGE_LEASE_SECONDS", "an edge heartbeats every second: at least 2 seconds"
        )
    if edge is None:
        edge = Edge(Store(settings.edge_cache_bytes), origin_pool(settings), edge_lease(settings))
    built = edge
    loop = asyncio.get_running_loop()
    if listening is None:
        server = await loop.create_server(
            lambda: EdgeProtocol(built), host, port, reuse_address=True, backlog=1024
        )
    else:
        server = await loop.create_server(lambda: EdgeProtocol(built), sock=listening)
    bound = server.sockets[0].getsockname()
    address = f"http://{host}:{bound[1]}"
    agent = Agent(
        edge,
        database,
        name=f"{socket.gethostname()}:{bound[1]}",
        address=address,
        notifier=notifier,
    )
    try:
        await agent.start()
    except BaseException:
        server.close()
        raise
    return RunningEdge(edge, agent, server, address)


def origin_pool(settings: Settings) -> OriginPool:
    return OriginPool(settings.edge_connect_timeout, settings.edge_origin_timeout)


def edge_lease(settings: Settings) -> float:
    return float(settings.edge_lease_seconds)


async def serve_forever(
    settings: Settings, database: Database, host: str, port: int, varnish_url: str | None = None
) -> None:
    """`forge edge`: run until SIGINT or SIGTERM, then deregister. Woken by LISTEN/NOTIFY on
    PostgreSQL; on SQLite by its polls alone. With `varnish_url`, the edge is the backend of
    that Varnish, which holds the cache (forge.edge.varnish)."""
    notifier = build_notifier(settings.database_url)
    try:
        await _serve_until_signalled(settings, database, host, port, notifier, varnish_url)
    finally:
        notifier.close()


async def _serve_until_signalled(
    settings: Settings,
    database: Database,
    host: str,
    port: int,
    notifier: Notifier,
    varnish_url: str | None,
) -> None:
    if varnish_url is None:
        running = await start_edge(settings, database, host, port, notifier)
    else:
        from forge.edge.varnish.runner import start_behind_varnish

        running = await start_behind_varnish(settings, database, host, port, varnish_url, notifier)
    print(f"Forge edge listening on {running.address}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await running.stop()


def serve_with_api(
    config: uvicorn.Config,
    settings: Settings,
    database: Database,
    listening: Listening,
    notifier: Notifier | None,
) -> None:
    """`forge serve` with one process: the API and the edge on one event loop."""
    import uvloop

    uvloop.run(_api_and_edge(config, settings, database, listening, notifier))


async def _api_and_edge(
    config: uvicorn.Config,
    settings: Settings,
    database: Database,
    listening: Listening,
    notifier: Notifier | None,
) -> None:
    running = await _start_beside_api(settings, database, listening, notifier)
    # uvicorn re-raises the signal that stopped it once it has shut down; handled here, so
    # the edge deregisters before the process ends.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    try:
        await uvicorn.Server(config).serve(sockets=[listening.api])
    finally:
        await running.stop()


async def _start_beside_api(
    settings: Settings, database: Database, listening: Listening, notifier: Notifier | None
) -> RunningEdge:
    assert listening.edge is not None, "an edge beside the API has its socket bound"
    port = listening.edge.getsockname()[1]
    running = await start_edge(
        settings, database, listening.host, port, notifier, listening=listening.edge
    )
    print(f"Forge edge listening on {running.address}", flush=True)
    return running


def serve_workers_with_edge(
    config: uvicorn.Config, settings: Settings, database: Database, listening: Listening
) -> None:
    """`forge serve --workers N`: the API processes under uvicorn's supervisor, and the edge on
    an event loop of its own in the supervisor (one cache for the port, not one per worker)."""
    import threading

    import uvloop
    from uvicorn.supervisors import Multiprocess

    loop = uvloop.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="forge-edge", daemon=True)
    thread.start()
    notifier = build_notifier(settings.database_url)
    started = asyncio.run_coroutine_threadsafe(
        _start_beside_api(settings, database, listening, notifier), loop
    )
    running = started.result(timeout=60)
    try:
        Multiprocess(config, sockets=[listening.api]).run()
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        notifier.close()
