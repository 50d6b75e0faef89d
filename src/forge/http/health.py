"""Liveness and readiness probes for load balancers; no authentication, no rate limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse

from forge.db import Database
from forge.http.context import current_request_id
from forge.http.envelope import Envelope
from forge.http.errors import PROBE_RESPONSES, ErrorBody

router = APIRouter(tags=["health"], responses=PROBE_RESPONSES)

# A load balancer's probe gives up after a few seconds; answer before that.
READY_WITHIN_SECONDS = 1.0


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", summary="The process is up")
async def healthz() -> Envelope[Health]:
    return Envelope(data=Health(status="ok"))


@router.get(
    "/readyz",
    summary="The process can serve: its database answers",
    responses={
        503: {
            "model": Envelope[Health] | ErrorBody,
            "description": "A dependency is down (the probe's answer), or the process holds its "
            "maximum of connections (an error)",
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    answered = await database.answers(within=READY_WITHIN_SECONDS)
    checks = {"database": "ok" if answered else "unreachable"}
    ready = checks["database"] == "ok"
    # Non-fatal: with Redis down, rate limits are counted in-process and requests go on.
    checks["rate_limits"] = request.app.state.limiter.health()
    body: Envelope[Health] = Envelope(
        data=Health(status="ready" if ready else "unavailable", checks=checks)
    )
    body.request_id = current_request_id()
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
