"""`/v1/openapi.json`: OpenAPI 3.1, true to every route, its security, bodies and errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient

from forge.http import versions

# Authenticated otherwise than by an API key: probes, and leak reports signed by the scanner.
PUBLIC = {"/healthz", "/readyz", "/v1/secret-scanning/github"}

# The scope each route asks for (tests/http/test_authorization.py checks the 403s say the same).
ROUTE_SCOPES = {
    ("GET", "/v1/sites"): "sites:read",
    ("POST", "/v1/sites"): "sites:write",
    ("GET", "/v1/sites/{site}"): "sites:read",
    ("PATCH", "/v1/sites/{site}"): "sites:write",
    ("DELETE", "/v1/sites/{site}"): "sites:write",
    ("GET", "/v1/sites/{site}/environments"): "environments:read",
    ("POST", "/v1/sites/{site}/environments"): "environments:write",
    ("GET", "/v1/sites/{site}/environments/{env}"): "environments:read",
    ("PATCH", "/v1/sites/{site}/environments/{env}"): "environments:write",
    ("DELETE", "/v1/sites/{site}/environments/{env}"): "environments:write",
    ("GET", "/v1/teams/{team}"): "teams:read",
    ("PATCH", "/v1/teams/{team}"): "teams:write",
    ("GET", "/v1/projects"): "projects:read",
    ("POST", "/v1/projects"): "projects:write",
}


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def test_it_is_openapi_3_1_and_needs_no_key(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"] == versions.LATEST


def test_it_lists_every_route_of_the_app(app: FastAPI, document: dict[str, Any]) -> None:
    # FastAPI keeps included routers as nodes of app.routes; iter_route_contexts flattens them.
    routes = {
        (method, context.path_format)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.original_route.include_in_schema
        for method in context.methods or ()
    }
    assert set(_operations(document)) == routes
    assert set(ROUTE_SCOPES) | {("GET", "/healthz"), ("GET", "/readyz")} <= routes


# Seed 001's clear-cache takes the key in `x-api-key` too, as that page documents.
API_KEY_HEADER = {"/api/v1/clear-cache"}


def test_authenticated_routes_declare_the_bearer_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for (_, path), operation in _operations(document).items():
        if path in PUBLIC:
            assert not operation.get("security"), path
        elif path in API_KEY_HEADER:
            assert operation["security"] == [{"bearer": []}, {"x-api-key": []}], path
        else:
            assert operation["security"] == [{"bearer": []}], path


def test_every_operation_documents_the_version_header(document: dict[str, Any]) -> None:
    for key, operation in _operations(document).items():
        headers = [
            p
            for p in operation["parameters"]
            if p["in"] == "header" and p["name"] in ("Forge-Version", "Idempotency-Key")
        ]
        expected = ["Forge-Version"]
        # A POST that spends `read` is a query (the redirect test call): nothing is stored.
        query = operation.get("x-forge-bucket") in ("read", "free")
        if key[0] == "POST" and operation.get("security") and not query:
            expected.append("Idempotency-Key")
        assert [h["name"] for h in headers] == expected, key
        assert versions.LATEST in headers[0]["schema"]["enum"]


def test_errors_are_documented_with_the_error_schema(document: dict[str, Any]) -> None:
    for key, operation in _operations(document).items():
        if key[1] in PUBLIC:
            continue
        for status in ("400", "401", "403", "404", "422", "500"):
            assert status in operation["responses"], (key, status)
            content = operation["responses"][status]["content"]["application/json"]
            schema = _resolve(document, content["schema"])
            if not key[1].startswith("/v1/"):
                # The seed-002 surface keeps its own documented Error shape.
                assert "error" in schema["required"], (key, status)
                continue
            assert set(schema["required"]) == {"error", "request_id"}, (key, status)
            detail = _resolve(document, schema["properties"]["error"])
            assert {"type", "code", "message"} <= set(detail["required"])
            assert "param" in detail["properties"]


def test_conflicts_are_documented_where_they_happen(document: dict[str, Any]) -> None:
    operations = _operations(document)
    for key in [
        ("POST", "/v1/sites"),
        ("PATCH", "/v1/sites/{site}"),
        ("POST", "/v1/sites/{site}/environments"),
        ("PATCH", "/v1/sites/{site}/environments/{env}"),
        ("DELETE", "/v1/sites/{site}/environments/{env}"),
        ("POST", "/v1/projects"),
    ]:
        assert "409" in operations[key]["responses"], key


def test_request_bodies_are_documented_and_closed(document: dict[str, Any]) -> None:
    operations = _operations(document)
    body = operations[("POST", "/v1/sites")]["requestBody"]["content"]["application/json"]
    schema = _resolve(document, body["schema"])
    assert schema["required"] == ["slug"]
    assert schema["additionalProperties"] is False
    env_body = operations[("POST", "/v1/sites/{site}/environments")]["requestBody"]
    env_schema = _resolve(document, env_body["content"]["application/json"]["schema"])
    assert {"name", "parent", "hostnames", "origin_url"} <= set(env_schema["properties"])


def test_lists_document_their_pagination(document: dict[str, Any]) -> None:
    for path in ("/v1/sites", "/v1/projects", "/v1/sites/{site}/environments"):
        operation = _operations(document)[("GET", path)]
        params = {p["name"]: p for p in operation["parameters"]}
        assert params["limit"]["schema"]["minimum"] == 1
        assert params["limit"]["schema"]["maximum"] == 100
        assert params["limit"]["schema"]["default"] == 20
        assert "starting_after" in params


def test_creates_document_201(document: dict[str, Any]) -> None:
    operations = _operations(document)
    for path in ("/v1/sites", "/v1/projects", "/v1/sites/{site}/environments"):
        assert "201" in operations[("POST", path)]["responses"]


def test_readyz_documents_its_503(document: dict[str, Any]) -> None:
    assert "503" in _operations(document)[("GET", "/readyz")]["responses"]


def test_every_path_parameter_is_declared(document: dict[str, Any]) -> None:
    for (method, path), operation in _operations(document).items():
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        named = set(re.findall(r"{([^}]+)}", path))
        assert declared == named, (method, path)
        assert all(p["required"] for p in operation["parameters"] if p["in"] == "path")


def test_each_operation_names_the_scope_it_requires(document: dict[str, Any]) -> None:
    operations = _operations(document)
    for key, scope in ROUTE_SCOPES.items():
        assert operations[key]["x-forge-scope"] == scope, key


def _integers(document: dict[str, Any], schema: dict[str, Any], where: str) -> Any:
    """Every integer schema reachable from `schema`, with where it sits."""
    if schema.get("$ref", "").startswith("#/$defs/"):
        return  # an inline body's local definitions: none of them has an integer
    schema = _resolve(document, schema)
    if schema.get("type") == "integer":
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _integers(document, sub, f"{where}.{name}")
    for combinator in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(combinator, []):
            yield from _integers(document, sub, where)
    if "items" in schema:
        yield from _integers(document, schema["items"], f"{where}[]")


def test_every_integer_a_request_carries_is_bounded(document: dict[str, Any]) -> None:
    found = []
    for (method, path), operation in _operations(document).items():
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        sources = [(f"{method} {path} body", body["schema"])] if body else []
        sources += [
            (f"{method} {path} {p['in']} {p['name']}", p["schema"])
            for p in operation.get("parameters", [])
        ]
        for where, schema in sources:
            found += list(_integers(document, schema, where))
    assert found  # limits and versions at least
    unbounded = [w for w, s in found if "minimum" not in s or "maximum" not in s]
    assert unbounded == []


# The names of the documents Forge was built from mean nothing to a user of the API.
INTERNAL_NAMES = re.compile(r"seed[ _-]?\d|the seed|PRODUCT\.md|ANCHORS", re.IGNORECASE)


def test_no_internal_document_names_in_the_document(api: TestClient) -> None:
    text = api.get("/v1/openapi.json").text
    assert INTERNAL_NAMES.findall(text) == []
