"""Reading `/v1/openapi.json` in tests: an operation's parameters and body schemas, and whether a
real answer is one the operation declares (status and body schema)."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs


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


def body_schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def untitled(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "title"}
