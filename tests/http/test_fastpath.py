"""The direct dispatch of simple GET routes answers exactly what FastAPI's path answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.http.fastpath import FastPath
from tests.factories import World

VOLATILE = {"request-id", "date", "x-ratelimit-remaining", "ratelimit", "x-ratelimit-reset"}


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[Any, ...]:
    response = client.get(path, headers=headers)
    body = response.json()
    assert body.pop("request_id") == response.headers["request-id"]
    kept = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, body, kept


def test_only_single_resource_reads_are_dispatched_directly(app: FastAPI) -> None:
    fastpath = next(m.kwargs["fastpath"] for m in app.user_middleware)
    direct = sorted(r.route.path for r in fastpath._routes if r.dependency is not None)
    assert direct == [
        "/v1/sites/{site}",
        "/v1/sites/{site}/environments/{env}",
        "/v1/sites/{site}/environments/{env}/redirects",
        "/v1/teams/{team}",
    ]


def test_direct_and_fastapi_paths_answer_alike(
    app: FastAPI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = world.team()
    site = world.site(team)
    env = world.environment(site, "production")
    owner = world.owner_key(team)
    reader = world.owner_key(team, scopes=["teams:read"])
    stranger = world.owner_key()
    cases = [
        (f"/v1/sites/{site.id}", owner.headers),  # 200
        (f"/v1/sites/{site.id}/environments/{env.id}", owner.headers),  # 200
        (f"/v1/teams/{team.id}", owner.headers),  # 200
        (f"/v1/sites/{site.id}", reader.headers),  # 403 insufficient_scope
        (f"/v1/sites/{site.id}", stranger.headers),  # 404
        (f"/v1/sites/{site.id}", {"Authorization": "Bearer mfk_test_nope"}),  # 401
        (f"/v1/sites/{site.id}", {}),  # 401
    ]
    with TestClient(app) as client:
        direct = [_answer(client, path, headers) for path, headers in cases]
        monkeypatch.setattr(FastPath, "match", lambda self, path: None)
        through_fastapi = [_answer(client, path, headers) for path, headers in cases]
    assert [d[0] for d in direct] == [200, 200, 200, 403, 404, 401, 401]
    assert direct == through_fastapi
