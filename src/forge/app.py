"""The ASGI application: every domain's routes behind the one HTTP contract."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from forge import logs
from forge.audit.routes import router as audit_router
from forge.cache import clear_cache
from forge.cache.routes import router as cache_router
from forge.config import Settings, load_settings
from forge.crypto.keyring import Keyring
from forge.db import Database
from forge.deployments.routes import router as deployments_router
from forge.http import errors, health, openapi
from forge.http.middleware import ContractMiddleware
from forge.http.routing import add_routers
from forge.jobs.registry import default_types
from forge.jobs.routes import router as jobs_router
from forge.jobs.worker import Worker, in_background
from forge.keys import expiry, usage
from forge.keys.routes import router as keys_router
from forge.notify import build_notifier
from forge.notify_pg import PostgresNotifier
from forge.ratelimit.routes import router as ratelimit_router
from forge.ratelimit.service import build_limiter
from forge.redirects import routes as redirect_routes
from forge.redirects.routes import router as redirects_router
from forge.secret_scanning.routes import router as secret_scanning_router
from forge.secrets import compat_routes, masterkey
from forge.secrets.routes import router as secrets_router
from forge.sites.routes import router as sites_router
from forge.tenancy.routes import router as tenancy_router

log = logging.getLogger("forge.app")

DESCRIPTION = (
    "The public API of Forge. Authenticate with `Authorization: Bearer <key>`; every response "
    "is `{data, request_id}` or `{error, request_id}`. A method a path does not declare answers "
    "`405` (`#/components/responses/MethodNotAllowed`) with `Allow` listing exactly that path's "
    "methods."
)


def _keyring_at_start(settings: Settings, database: Database) -> Keyring | None:
    """A missing or wrong master key stops start-up here (ConfigError naming the setting).
    With the database down the app still starts (`/readyz` says why) and the key is verified
    on first use instead."""
    try:
        return masterkey.open_keyring(settings, database)
    except OperationalError:
        log.warning("database unreachable at start-up; master key verified on first use")
        return None


@asynccontextmanager
async def _worker_in_process(state: Any) -> AsyncIterator[None]:
    """Embedded defaults run the job worker inside the API process (FORGE_WORKER_IN_PROCESS)."""
    chosen = state.settings.worker_in_process
    if not (state.database.url.startswith("sqlite") if chosen is None else chosen):
        yield
        return
    worker = Worker(state.database, state.notifier, state.settings, default_types())
    async with in_background(worker):
        yield


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    await state.database.run(state.limiter.overrides.refresh_if_stale)
    if isinstance(state.notifier, PostgresNotifier):
        await asyncio.to_thread(state.notifier.start)
    try:
        async with (
            usage.flushing(state.database, state.usage, state.settings.key_usage_flush_seconds),
            expiry.sweeping(state.database, state.settings.key_usage_flush_seconds),
            _worker_in_process(state),
        ):
            yield
    finally:
        state.notifier.close()
        await state.limiter.aclose()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="Forge API",
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        # A redirect to the slash-less path would be built from the Host header (an open
        # redirect, unauthenticated): an unknown path is a 404 in the error shape instead.
        redirect_slashes=False,
        # Forge ships no OpenTelemetry SDK, so FastAPI's native telemetry has nowhere to report;
        # left on, it still asks the global providers on every request whether one was set
        # (three environment reads). Observability is the access and error logs (forge.logs).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)
    app.state.keyring = _keyring_at_start(settings, app.state.database)
    app.state.limiter = build_limiter(settings, app.state.database)
    app.state.usage = usage.UsageRecorder()
    app.state.unit_slots = asyncio.Semaphore(app.state.database.concurrent_units)
    app.state.notifier = build_notifier(app.state.database.url)
    errors.install(app)
    routers = (
        sites_router,
        tenancy_router,
        keys_router,
        audit_router,
        secrets_router,
        redirects_router,
        deployments_router,
        ratelimit_router,
        secret_scanning_router,
        jobs_router,
        cache_router,
        clear_cache.router,
    )
    # The team/site/env paths look like catch-alls (/{o}/{p}/envs/…): registered after every /v1
    # router so they can never shadow one.
    add_routers(app, *routers, health.router, compat_routes.router)
    app.openapi = lambda: openapi.build(app)  # type: ignore[method-assign]
    app.add_middleware(
        ContractMiddleware,
        max_body_bytes=settings.max_body_bytes,
        surfaces=errors.Surfaces(app),
        body_limits=(redirect_routes.BODY_LIMIT,),
    )
    return app


def worker_app() -> FastAPI:
    """The app of one `forge serve --workers N` process: each configures its own logging."""
    logs.configure()
    return create_app()
