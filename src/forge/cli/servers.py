"""`forge serve`, `forge worker`, `forge edge` and `forge demo-origin`: the long-running
processes. Their help texts are their entries in forge.cli.registry."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from forge import migrate as migrations
from forge.cli.output import console, database_or_exit, fail, settings_or_exit
from forge.config import ConfigError, Settings
from forge.db import Database

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI


def _serving_database(settings: Settings) -> Database:
    """The database, its schema brought up to date on embedded SQLite (one process owns it);
    elsewhere it must be current already (`forge migrate` runs once per release)."""
    database = database_or_exit(settings)
    if settings.is_sqlite:
        migrations.upgrade(database)
    elif not migrations.is_current(database):
        fail("the database schema is not at the newest revision; run `forge migrate` first")
    return database


def _app_or_exit(settings: Settings, database: Database) -> FastAPI:
    from forge.app import create_app

    try:
        return create_app(settings, database)
    except ConfigError as err:
        fail(f"bad configuration: {err}")


def worker(
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Jobs run at once")
    ] = None,
) -> None:
    import asyncio

    from forge import logs
    from forge.jobs.registry import default_types
    from forge.jobs.worker import Worker, run_until_signalled
    from forge.notify import build_notifier

    settings = settings_or_exit()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    database = database_or_exit(settings)
    if not migrations.is_current(database):
        fail("the database schema is not at the newest revision; run `forge migrate` first")
    logs.configure()
    notifier = build_notifier(settings.database_url)
    job_worker = Worker(database, notifier, settings, default_types())
    console.print(f"Forge worker {job_worker.id} running ({', '.join(job_worker.types)})")
    try:
        asyncio.run(run_until_signalled(job_worker))
    finally:
        notifier.close()
        database.dispose()


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes to run")] = 1,
    edge_port: Annotated[
        int | None,
        typer.Option("--edge-port", help="The edge's port (default FORGE_EDGE_PORT or 8081)"),
    ] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="No job worker in-process (run `forge worker`)")
    ] = False,
    no_edge: Annotated[
        bool, typer.Option("--no-edge", help="No edge beside the API (run `forge edge`)")
    ] = False,
) -> None:
    import uvicorn

    from forge import logs, serving
    from forge.edge import runner

    settings = settings_or_exit()
    edge_port = settings.edge_port if edge_port is None else edge_port
    listening = serving.Listening(
        host,
        _listening_or_exit(host, port, "the API"),
        None if no_edge else _listening_or_exit(host, edge_port, "the edge"),
    )
    database = _serving_database(settings)
    logs.configure()
    if no_worker:
        # --workers processes build their settings from the environment.
        os.environ["FORGE_WORKER_IN_PROCESS"] = "off"
        settings = settings.model_copy(update={"worker_in_process": False})
    application = _app_or_exit(settings, database)
    config = uvicorn.Config(
        # With several workers each process builds its own app; this one only checked it.
        application if workers == 1 else "forge.app:worker_app",
        factory=workers > 1,
        **serving.uvicorn_options(host, port, workers, settings),
    )
    console.print(f"Forge API listening on http://{host}:{port}/v1 (OpenAPI: /v1/openapi.json)")
    if settings.runs_worker_in_process:
        console.print("job worker running in-process (FORGE_WORKER_IN_PROCESS)")
    if no_edge:
        _serve_api_only(config, listening.api)
    elif workers == 1:
        try:
            runner.serve_with_api(config, settings, database, listening, application.state.notifier)
        except ConfigError as err:
            fail(f"bad configuration: {err}")
    else:
        runner.serve_workers_with_edge(config, settings, database, listening)


def _listening_or_exit(host: str, port: int, what: str) -> socket.socket:
    from forge import serving

    try:
        return serving.listen(host, port)
    except OSError as err:
        fail(f"{what} cannot listen on {host}:{port}: {err.strerror or err}")


edge_app = typer.Typer(invoke_without_command=True, rich_markup_mode=None, add_completion=False)


def _serve_api_only(config: uvicorn.Config, listening: socket.socket) -> None:
    import uvicorn as server
    from uvicorn.supervisors import Multiprocess

    if config.workers == 1:
        server.Server(config).run(sockets=[listening])
        return
    Multiprocess(config, sockets=[listening]).run()


@edge_app.callback()
def edge(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8081,
    cache: Annotated[
        str, typer.Option("--cache", help="builtin (in memory) or varnish (in front of it)")
    ] = "builtin",
    varnish: Annotated[
        str | None, typer.Option("--varnish", help="The Varnish URL its agent purges")
    ] = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    import uvloop

    from forge import logs
    from forge.edge import runner
    from forge.edge.varnish.client import VarnishError
    from forge.edge.varnish.runner import VarnishNotConfigured

    if cache not in ("builtin", "varnish"):
        fail(f"--cache must be builtin or varnish, got {cache!r}")
    if (cache == "varnish") != (varnish is not None):
        fail("--cache varnish and --varnish URL go together")
    settings = settings_or_exit()
    database = _serving_database(settings)
    logs.configure()
    try:
        uvloop.run(runner.serve_forever(settings, database, host, port, varnish))
    except ConfigError as err:
        fail(f"bad configuration: {err}")
    except OSError as err:
        fail(f"cannot listen on {host}:{port}: {err.strerror}")
    except (VarnishNotConfigured, VarnishError) as err:
        fail(str(err))
    finally:
        database.dispose()


@edge_app.command("vcl")
def edge_vcl(
    edge_host: Annotated[str, typer.Option("--edge-host", help="The edge's IP address")] = (
        "127.0.0.1"
    ),
    edge_port: Annotated[int, typer.Option("--edge-port")] = 8081,
    agent: Annotated[
        list[str] | None,
        typer.Option("--agent", help="Address or network purges may come from (repeatable)"),
    ] = None,
) -> None:
    """Print the VCL for a Varnish in front of an edge (purge secret: FORGE_VARNISH_SECRET)."""
    from forge.edge.varnish.vcl import VclError, VclSettings, render

    settings = settings_or_exit()
    if not settings.varnish_secret:
        fail("FORGE_VARNISH_SECRET is not set: the VCL accepts purges only with that secret")
    try:
        text = render(
            VclSettings(
                backend_host=edge_host,
                backend_port=edge_port,
                secret=settings.varnish_secret,
                agents=tuple(agent) if agent else ("127.0.0.1", "::1"),
                origin_timeout=settings.edge_origin_timeout,
            )
        )
    except VclError as err:
        fail(str(err))
    typer.echo(text, nl=False)


def demo_origin(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 9000,
) -> None:
    from forge.cli import demo_origin as demo

    demo.serve(host, port)
