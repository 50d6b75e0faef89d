"""`POST /v1/secret-scanning/github`: authenticated by the scanner's signature, not a key.

The body is not declared as a FastAPI parameter on purpose: nothing in it is parsed before the
signature over its raw bytes verifies (a tampered body is a 401, never a 422)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import TypeAdapter
from starlette.responses import Response

from forge.db import Database
from forge.http.routing import ForgeRoute
from forge.secret_scanning import service
from forge.secret_scanning.schemas import Alert, Verdict

router = APIRouter(tags=["secret scanning"], route_class=ForgeRoute)

_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "GitHub's alert: a JSON array of {token, type, url, source}. The "
        "signature in Github-Public-Key-Signature covers these exact bytes.",
        "content": {"application/json": {"schema": TypeAdapter(list[Alert]).json_schema()}},
    },
    "parameters": [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        for name in ("Github-Public-Key-Identifier", "Github-Public-Key-Signature")
    ],
    "security": [],
}


def _handle(database: Database, alerts: list[Alert]) -> list[Verdict]:
    with database.session() as session:
        return service.handle_all(session, alerts)


@router.post(
    "/v1/secret-scanning/github",
    summary="Report leaked keys (GitHub secret-scanning partner format)",
    response_model=list[Verdict],
    openapi_extra=_REQUEST_BODY,
)
async def github_alert(request: Request) -> Response:
    """Answers a bare JSON array of verdicts, as GitHub expects, not the `{data}` envelope."""
    body = await request.body()
    service.verify(
        request.app.state.settings.secret_scanning_keys,
        request.headers.get("github-public-key-identifier"),
        request.headers.get("github-public-key-signature"),
        body,
    )
    alerts = service.parse(body)
    database: Database = request.app.state.database
    verdicts = await database.run(_handle, database, alerts)
    return Response(orjson.dumps([v.model_dump() for v in verdicts]), media_type="application/json")
