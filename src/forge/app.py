"""The ASGI application: every domain's routes behind the one HTTP contract."""

from __future__ import annotations

from fastapi import FastAPI

from forge.config import Settings, load_settings
from forge.db import Database
from forge.http import errors, health, openapi
from forge.http.errors import ERROR_RESPONSES
from forge.http.middleware import ContractMiddleware
from forge.ratelimit.routes import router as ratelimit_router
from forge.ratelimit.service import build_limiter
from forge.sites.routes import router as sites_router
from forge.tenancy.routes import router as tenancy_router

DESCRIPTION = (
    "The public API of Forge. Authenticate with `Authorization: Bearer <key>`; every response "
    "is `{data, request_id}` or `{error, request_id}`."
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="Forge API",
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)
    app.state.limiter = build_limiter(settings, app.state.database)
    errors.install(app)
    for router in (sites_router, tenancy_router, ratelimit_router):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(health.router)
    app.openapi = lambda: openapi.build(app)  # type: ignore[method-assign]
    app.add_middleware(ContractMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
