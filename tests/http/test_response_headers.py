"""Every API response, success or error, from a route, the direct GET path or the middleware,
says `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`, and names no server."""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from tests.factories import SecretsWorld, World, secrets_path


def _assert_guarded(response: httpx.Response) -> None:
    assert response.headers.get_list("cache-control") == ["no-store"], response.request.url
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert "server" not in response.headers


def test_every_kind_of_response_carries_them(api: TestClient, world: World) -> None:
    w = SecretsWorld.make(world)
    headers = w.owner.headers
    created = api.post(
        "/v1/api-keys", json={"name": "ci", "scopes": ["sites:read"]}, headers=headers
    )
    assert created.status_code == 201 and "secret" in created.json()["data"]
    responses = [
        created,
        api.get(f"/v1/sites/{w.site.id}", headers=headers),  # the direct GET path
        api.get("/v1/sites", headers=headers),
        api.put(secrets_path(w.env, "A"), json={"value": "v"}, headers=headers),
        api.get("/v1/sites"),  # 401
        api.get("/v1/sites/site_00000000000000000000000000", headers=headers),  # 404
        api.post(
            "/v1/sites", content=b"{", headers={**headers, "Content-Type": "application/json"}
        ),
        api.delete("/v1/api-keys/self", headers=headers),  # 405
        api.post("/v1/api-keys", json={"name": ""}, headers=headers),  # 422
        api.get(f"/{w.team.slug}/{w.site.slug}/envs/production/secrets", headers=headers),
        api.get("/v1/openapi.json"),
        api.get("/healthz"),
        api.get("/readyz"),
        api.head("/healthz"),
    ]
    for response in responses:
        _assert_guarded(response)
