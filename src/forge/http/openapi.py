"""The OpenAPI 3.1 document: FastAPI's, plus what every route shares (auth, version header)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from forge.http import versions
from forge.idempotency import service as idempotency

_VERSION_HEADER = {
    "name": "Forge-Version",
    "in": "header",
    "required": False,
    "description": "API version; the latest when omitted; echoed on every response.",
    "schema": {"type": "string", "enum": list(versions.SUPPORTED), "default": versions.LATEST},
}

_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": f"1–{idempotency.MAX_KEY_LENGTH} printable ASCII characters; a retry with "
    "the same key and request replays the first response (Idempotent-Replayed: true) for 24 "
    "hours. See docs/idempotency.md.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_LENGTH,
        "pattern": idempotency.KEY_PATTERN,
    },
}


_PRECONDITION_FAILED = "precondition_failed: the If-Match no longer matches; nothing changed"

# OpenAPI has no operation for a method a path lacks: its answer is declared once, here.
_METHOD_NOT_ALLOWED = {
    "description": "method_not_allowed: the path exists, not with this method. Every path "
    "answers it for every method it does not declare (HEAD is GET's).",
    "headers": {
        "Allow": {
            "description": "Exactly the path's methods, HEAD with GET (e.g. `GET, HEAD`).",
            "schema": {"type": "string"},
        }
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


# The contract middleware refuses a query value holding NUL (400): every string a query
# parameter takes says so, unless its own pattern already excludes it.
_NO_NUL = "^[^\\u0000]*$"


def _no_nul_in_query(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        schema = parameter["schema"]
        for option in [schema, *schema.get("anyOf", [])]:
            if option.get("type") == "string" and "pattern" not in option and "enum" not in option:
                option["pattern"] = _NO_NUL


def _declare_own_answers(operation: dict[str, Any]) -> None:
    """The answers an operation's own parameters imply: 412 for an If-Match, in its shape."""
    if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
        shape = operation["responses"]["400"]["content"]
        operation["responses"]["412"] = {"description": _PRECONDITION_FAILED, "content": shape}


def build(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=versions.LATEST,
        description=app.description,
        routes=app.routes,
    )
    document.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "mfk_… or mfs_… key"},
        "x-api-key": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "The same key, on `POST /api/v1/clear-cache` only",
        },
    }
    document["components"]["responses"] = {"MethodNotAllowed": _METHOD_NOT_ALLOWED}
    for operations in document["paths"].values():
        for method, operation in operations.items():
            _declare_own_answers(operation)
            _no_nul_in_query(operation)
            operation.setdefault("parameters", []).append(_VERSION_HEADER)
            # A POST spending `read` is a query (the redirect test call): no key is stored.
            stores = operation.get("x-forge-bucket") not in ("read", "free")
            if method == "post" and operation.get("security") and stores:
                operation["parameters"].append(_IDEMPOTENCY_HEADER)
    app.openapi_schema = document
    return document
