"""A test-only route that creates a project, can be held open, and reveals a "secret" the way
key create and roll do, mounted next to the real routes."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI
from starlette.responses import Response

from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope
from forge.http.routing import ForgeRoute
from forge.tenancy import service as tenancy
from forge.tenancy.schemas import ProjectCreate

REVEALED = "mfk_test_RevealedOnceRevealedOnceRevealed0000"


class Gate:
    """Holds the test route open until released, so a second request arrives mid-flight."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.armed = False


def build_router(gate: Gate) -> APIRouter:
    router = APIRouter(prefix="/test", route_class=ForgeRoute)

    @router.post("/minted", status_code=201)
    async def mint_something(
        access: Annotated[Access, Scoped("projects:write")], body: ProjectCreate, response: Response
    ) -> Envelope[dict[str, Any]]:
        project = tenancy.create_project(access.session, access.principal, body)
        if gate.armed:
            gate.entered.set()
            await gate.release.wait()
        response.headers["Location"] = f"/v1/projects/{project.id}"
        return Envelope(data={"id": project.id, "slug": project.slug, "secret": REVEALED})

    return router


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def app(app: FastAPI, gate: Gate) -> FastAPI:
    app.include_router(build_router(gate))
    return app
