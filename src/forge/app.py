"""The ASGI application: every domain's routes behind the one HTTP contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from forge.audit.routes import router as audit_router
from forge.config import Settings, load_settings
from forge.db import Database
from forge.http import errors, health, openapi
from forge.http.errors import ERROR_RESPONSES
from forge.http.middleware import ContractMiddleware
from forge.keys import usage
from forge.keys.routes import router as keys_router
from forge.secret_scanning.routes import router as secret_scanning_router
from forge.sites.routes import router as sites_router
from forge.tenancy.routes import router as tenancy_router

DESCRIPTION = (
    "The public API of Forge. Authenticate with `Authorization: Bearer <key>`; every response "
    "is `{data, request_id}` or `{error, request_id}`."
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    async with usage.flushing(state.database, state.usage, state.settings.key_usage_flush_seconds):
        yield


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="Forge API",
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)
    app.state.usage = usage.UsageRecorder()
    errors.install(app)
    for router in (sites_router, tenancy_router, keys_router, audit_router):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(health.router)
    app.include_router(secret_scanning_router, responses=ERROR_RESPONSES)
    app.openapi = lambda: openapi.build(app)  # type: ignore[method-assign]
    app.add_middleware(ContractMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
