"""The error catalogue as a client meets it: shape, codes and params, for hostile input too."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from tests.assertions import assert_error
from tests.factories import Key

JSON = {"Content-Type": "application/json"}


def test_an_unknown_route_is_404_not_found(api: TestClient) -> None:
    assert_error(api.get("/v1/nowhere"), 404, "not_found")
    assert_error(api.get("/"), 404, "not_found")


def test_an_unknown_route_is_404_even_with_a_key(api: TestClient, key: Key) -> None:
    assert_error(api.post("/v1/nowhere", headers=key.headers, json={}), 404, "not_found")


def test_a_wrong_method_is_405_method_not_allowed(api: TestClient, key: Key) -> None:
    response = api.put("/v1/sites", headers=key.headers, json={"slug": "a"})
    error = assert_error(response, 405, "method_not_allowed")
    assert error["type"] == "invalid_request_error"


def test_a_405_says_which_methods_are_allowed(api: TestClient, key: Key) -> None:
    response = api.put("/v1/sites", headers=key.headers, json={"slug": "a"})
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize("body", [b"{", b'{"slug": "a",}', b"\xff\xfe", b"{'slug': 'a'}", b"nul"])
def test_malformed_json_is_400_invalid_request(api: TestClient, key: Key, body: bytes) -> None:
    response = api.post("/v1/sites", headers={**key.headers, **JSON}, content=body)
    error = assert_error(response, 400, "invalid_request")
    assert "JSON" in error["message"]


def test_malformed_json_is_refused_before_authentication(api: TestClient) -> None:
    assert_error(api.post("/v1/sites", headers=JSON, content=b"{"), 400, "invalid_request")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_a_body_that_is_not_json_is_415(
    api: TestClient, key: Key, content_type: str | None
) -> None:
    headers = dict(key.headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = api.post("/v1/sites", headers=headers, content=b'{"slug": "a"}')
    assert_error(response, 415, "unsupported_media_type")
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_media_types_with_parameters_or_suffixes_are_accepted(
    api: TestClient, key: Key, content_type: str
) -> None:
    response = api.post(
        "/v1/sites", headers={**key.headers, "Content-Type": content_type}, content=b'{"slug":"a"}'
    )
    assert response.status_code == 201, response.text


def test_an_unknown_field_is_422_naming_it(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"slug": "a", "colour": "red"})
    error = assert_error(response, 422, "validation_error", param="colour")
    assert "colour" in error["message"]
    assert api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_missing_field_is_422_naming_it(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"name": "No slug"})
    assert_error(response, 422, "validation_error", param="slug")


def test_a_json_body_that_is_not_an_object_is_422(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", headers={**key.headers, **JSON}, content=b"[1, 2]")
    assert_error(response, 422, "validation_error")


def test_a_wrongly_typed_field_is_422_naming_it(api: TestClient, key: Key) -> None:
    response = api.post("/v1/sites", headers=key.headers, json={"slug": 42})
    assert_error(response, 422, "validation_error", param="slug")


# --- body size ------------------------------------------------------------------------------


@pytest.fixture
def small_api(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"max_body_bytes": 64}), database)
    with TestClient(app, client=("198.51.100.7", 50000)) as client:
        yield client


def _oversized() -> bytes:
    return json.dumps({"slug": "a", "name": "x" * 100}).encode()


def test_a_body_over_the_limit_is_413_by_its_content_length(
    small_api: TestClient, key: Key
) -> None:
    response = small_api.post("/v1/sites", headers={**key.headers, **JSON}, content=_oversized())
    error = assert_error(response, 413, "payload_too_large")
    assert "64" in error["message"]
    assert small_api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_streamed_body_over_the_limit_is_413(small_api: TestClient, key: Key) -> None:
    payload = _oversized()

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for start in range(0, len(payload), 16):
            yield payload[start : start + 16]

    response = small_api.post("/v1/sites", headers={**key.headers, **JSON}, content=chunks())
    assert_error(response, 413, "payload_too_large")
    assert small_api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_lying_content_length_does_not_get_past_the_limit(
    small_api: TestClient, key: Key
) -> None:
    payload = _oversized()

    def chunks() -> Iterator[bytes]:
        yield payload

    headers = {**key.headers, **JSON, "Content-Length": "10"}
    response = small_api.post("/v1/sites", headers=headers, content=chunks())
    assert_error(response, 413, "payload_too_large")  # counted as it arrives, not as claimed
    assert small_api.get("/v1/sites", headers=key.headers).json()["data"] == []


def test_a_body_at_the_limit_is_accepted(small_api: TestClient, key: Key) -> None:
    payload = b'{"slug": "a", "name": "' + b"x" * 39 + b'"}'
    assert len(payload) == 64
    response = small_api.post("/v1/sites", headers={**key.headers, **JSON}, content=payload)
    assert response.status_code == 201, response.text


def test_a_streamed_body_under_the_limit_is_accepted(small_api: TestClient, key: Key) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"slug":'
        yield b' "streamed"}'

    response = small_api.post("/v1/sites", headers={**key.headers, **JSON}, content=chunks())
    assert response.status_code == 201, response.text


# --- 500 ------------------------------------------------------------------------------------


@pytest.fixture
def broken_app(app: FastAPI) -> FastAPI:
    async def explode() -> None:
        raise RuntimeError("the secret internals")

    app.add_api_route("/v1/explode", explode)
    return app


def test_an_unhandled_error_is_500_with_the_request_id_only(
    broken_app: FastAPI, log_stream: io.StringIO
) -> None:
    with TestClient(broken_app) as client:
        response = client.get("/v1/explode")
    error = assert_error(response, 500, "internal")
    assert "the secret internals" not in response.text
    assert "Traceback" not in response.text
    logged = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    failure = next(line for line in logged if line["logger"] == "forge.errors")
    assert failure["request_id"] == response.json()["request_id"]
    assert "the secret internals" in failure["exception"]
    assert error["param"] is None
