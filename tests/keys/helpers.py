"""Request helpers shared by the key tests."""

from __future__ import annotations

from typing import Any

from httpx import Response
from starlette.testclient import TestClient

from tests.factories import Key

SEED_SCOPES = ["sites:read", "deployments:write", "environments:write", "jobs:read"]


def create(api: TestClient, caller: Key, **body: Any) -> Response:
    body.setdefault("name", "ci-deploy-bot")
    body.setdefault("scopes", SEED_SCOPES)
    return api.post("/v1/api-keys", headers=caller.headers, json=body)


def created(api: TestClient, caller: Key, **body: Any) -> dict[str, Any]:
    response = create(api, caller, **body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def error(response: Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body
