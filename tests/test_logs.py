"""One JSON access line per request; never the Authorization header, query string or body."""

from __future__ import annotations

import io
import json
from typing import Any

from starlette.testclient import TestClient

from tests.factories import World


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _access(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in _lines(stream) if line["logger"] == "forge.access"]


def test_one_json_line_per_request_with_the_documented_fields(
    api: TestClient, world: World, log_stream: io.StringIO
) -> None:
    key = world.owner_key()
    first = api.get("/v1/sites", headers=key.headers)
    second = api.post("/v1/sites", headers=key.headers, json={"slug": "logged"})
    lines = _access(log_stream)
    assert len(lines) == 2
    for line, response in zip(lines, (first, second), strict=True):
        assert {"method", "path", "status", "duration_ms", "request_id", "key_prefix"} <= set(line)
        assert line["request_id"] == response.headers["request-id"]
        assert line["status"] == response.status_code
        assert line["key_prefix"] == key.prefix
        assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
        assert line["ts"].endswith("Z")
    assert [(x["method"], x["path"]) for x in lines] == [
        ("GET", "/v1/sites"),
        ("POST", "/v1/sites"),
    ]


def test_refused_and_unauthenticated_requests_are_logged_too(
    api: TestClient, log_stream: io.StringIO
) -> None:
    api.get("/v1/sites")
    api.get("/v1/nowhere")
    api.get("/v1/sites", headers={"Forge-Version": "1999-01-01"})
    statuses = [(line["status"], line["key_prefix"]) for line in _access(log_stream)]
    assert statuses == [(401, None), (404, None), (400, None)]


def test_credentials_query_strings_and_bodies_never_reach_the_log(
    api: TestClient, world: World, log_stream: io.StringIO
) -> None:
    key = world.owner_key()
    secret_random = key.secret.split("_", 2)[2]
    api.get("/v1/sites", params={"limit": 7, "marker": "query-marker"}, headers=key.headers)
    api.post("/v1/sites", headers=key.headers, json={"slug": "body-marker", "name": "name-marker"})
    api.post("/v1/sites", headers=key.headers, json={"slug": "x", "api_key": key.secret})
    api.get("/v1/sites", params={"token": key.secret})
    api.get("/v1/sites", headers={"Authorization": "Bearer mfk_test_not_a_real_key"})
    logged = log_stream.getvalue()
    for forbidden in (
        secret_random,
        "Bearer",
        "authorization",
        "query-marker",
        "limit=7",
        "body-marker",
        "name-marker",
        "mfk_test_not_a_real_key",
    ):
        assert forbidden not in logged, forbidden
    assert len(_access(log_stream)) == 5


def test_a_log_line_is_written_for_a_streamed_oversized_body(
    api: TestClient, world: World, log_stream: io.StringIO
) -> None:
    key = world.owner_key()
    response = api.post(
        "/v1/sites",
        headers={**key.headers, "Content-Type": "application/json"},
        content=b'{"slug": "' + b"x" * (2 * 1024 * 1024) + b'"}',
    )
    assert response.status_code == 413
    (line,) = _access(log_stream)
    assert line["status"] == 413 and line["request_id"] == response.headers["request-id"]
