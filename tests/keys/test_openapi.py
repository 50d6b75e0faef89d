"""The OpenAPI document describes the key, audit and secret-scanning routes truly."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_routes_are_described(api: TestClient) -> None:
    document = api.get("/v1/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/v1/api-keys"]) == {"get", "post"}
    assert set(paths["/v1/api-keys/{id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/v1/api-keys/{id}/roll"]
    assert "get" in paths["/v1/api-keys/self"]
    assert "get" in paths["/v1/audit-events"]
    scanning = paths["/v1/secret-scanning/github"]["post"]
    assert scanning["security"] == []
    assert scanning["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    headers = {p["name"] for p in scanning["parameters"] if p["in"] == "header"}
    assert {"Github-Public-Key-Identifier", "Github-Public-Key-Signature"} <= headers
    create = paths["/v1/api-keys"]["post"]
    assert {"401", "403", "422"} <= set(create["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["KeyCreated"]["properties"]) == {
        "id",
        "name",
        "secret",
        "prefix",
        "scopes",
        "resource",
        "expires_at",
        "created_at",
    }
    assert set(schemas["KeyRolled"]["properties"]) == {
        "id",
        "secret",
        "prefix",
        "previous_prefix",
        "previous_expires_at",
    }
