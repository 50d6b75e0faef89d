"""`/v1/openapi.json` agrees with what the server does: each answer below is checked against the
operation's documented response (status, body schema), and each rule the server enforces on an
input is in the schema, exactly."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from tests.factories import SecretsWorld, World, secrets_path


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = api.get("/v1/openapi.json").json()
    return doc


def operation_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method.lower()]
    return operation


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema validator for a schema of the document (its `$ref`s resolved in it)."""
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def assert_documented(
    document: dict[str, Any], method: str, path: str, response: httpx.Response
) -> None:
    """The operation declares the response's status, and its body matches that schema."""
    responses = operation_of(document, method, path)["responses"]
    declared = responses.get(str(response.status_code))
    assert declared is not None, (method, path, response.status_code, sorted(responses))
    schema = declared["content"]["application/json"]["schema"]
    errors = [e.message for e in validator(document, schema).iter_errors(response.json())]
    assert errors == [], (method, path, response.status_code, errors)


def parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    params = operation_of(document, method, path)["parameters"]
    found: dict[str, Any] = next(p for p in params if p["name"] == name)
    return found


def matches(schema: dict[str, Any], value: str) -> bool:
    """Whether a string schema (pattern, lengths) admits `value`, as a JSON Schema validator
    reads it (ECMA 262 regexes, lengths in code points)."""
    return jsonschema_rs.is_valid(schema, value)


# a. A replayed create or roll answers without `secret` ----------------------------------------


def test_a_replayed_create_answers_as_documented(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": "create-bot-1"}
    body = {"name": "bot", "scopes": ["sites:read"]}
    first = api.post("/v1/api-keys", headers=headers, json=body)
    replay = api.post("/v1/api-keys", headers=headers, json=body)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.json()["data"]["secret"].startswith("mfk_test_")
    assert "secret" not in replay.json()["data"]
    assert_documented(document, "POST", "/v1/api-keys", first)
    assert_documented(document, "POST", "/v1/api-keys", replay)


def test_a_replayed_roll_answers_as_documented(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": "roll-1"}
    path = f"/v1/api-keys/{key.id}/roll"  # the old secret works on for an hour: the replay
    first = api.post(path, headers=headers, json={"grace": "1h"})
    replay = api.post(path, headers=headers, json={"grace": "1h"})
    assert (first.status_code, replay.status_code) == (200, 200)
    assert "secret" not in replay.json()["data"]
    assert_documented(document, "POST", "/v1/api-keys/{id}/roll", first)
    assert_documented(document, "POST", "/v1/api-keys/{id}/roll", replay)


def test_the_schema_says_a_replay_omits_the_secret(document: dict[str, Any]) -> None:
    for name in ("KeyCreated", "KeyRolled"):
        schema = document["components"]["schemas"][name]
        assert "secret" not in schema["required"], name
        assert "Absent from an idempotent replay" in schema["properties"]["secret"]["description"]


# d. An empty Forge-Version -----------------------------------------------------------------------


def test_an_empty_version_is_outside_the_documented_enum_and_refused(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    schema = parameter(document, "GET", "/v1/sites", "Forge-Version")["schema"]
    assert not matches(schema, "")
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": ""})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Forge-Version"
    assert_documented(document, "GET", "/v1/sites", response)


def test_an_absent_version_is_the_latest(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers=key.headers)
    assert response.status_code == 200
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", response.headers["forge-version"])


# b. The Idempotency-Key header and secret names, declared as enforced -------------------------

IDEMPOTENCY_KEYS = ["a", " a b ", "~" * 255, "~" * 256, "", "\t", "a\x7f", "\xe9", "a\x00"]


@pytest.mark.parametrize("value", IDEMPOTENCY_KEYS)
def test_the_idempotency_key_schema_is_the_rule(
    api: TestClient, world: World, document: dict[str, Any], value: str
) -> None:
    schema = parameter(document, "POST", "/v1/projects", "Idempotency-Key")["schema"]
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": value.encode("latin-1")}
    response = api.post("/v1/projects", headers=headers, json={"slug": "web"})
    assert response.status_code == (201 if matches(schema, value) else 400), response.text
    assert_documented(document, "POST", "/v1/projects", response)


SECRET_NAMES = ["A", "_", "A_1", "FORGE", "FORGEX", "FORGE_X", "a", "1A", "A-B", "A" * 256, "A" * 257]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_the_secret_name_schema_is_the_rule(
    api: TestClient, w: SecretsWorld, document: dict[str, Any], name: str
) -> None:
    """In a path (an unknown name is a 404, a malformed one a 422) and in a body alike."""
    template = "/v1/sites/{site}/environments/{env}/secrets"
    in_path = parameter(document, "GET", template + "/{key}", "key")["schema"]
    read = api.get(secrets_path(w.env, name), headers=w.owner.headers)
    assert read.status_code == (404 if matches(in_path, name) else 422), read.text
    assert_documented(document, "GET", template + "/{key}", read)
    declare = document["components"]["schemas"]["SecretDeclare"]["properties"]["key"]
    created = api.post(secrets_path(w.env), headers=w.owner.headers, json={"key": name})
    assert created.status_code == (201 if matches(declare, name) else 422), created.text
    compat = parameter(document, "GET", "/{o}/{p}/envs/{envName}/secrets/{name}", "name")
    assert untitled(compat["schema"]) == untitled(in_path) == untitled(declare)


def untitled(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "title"}
