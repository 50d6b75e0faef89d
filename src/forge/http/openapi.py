"""The OpenAPI 3.1 document: FastAPI's, plus what every route shares (auth, version header)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from forge.http import versions

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/v1/secret-scanning/github"})

_VERSION_HEADER = {
    "name": "Forge-Version",
    "in": "header",
    "required": False,
    "description": "API version; the latest when omitted; echoed on every response.",
    "schema": {"type": "string", "enum": list(versions.SUPPORTED), "default": versions.LATEST},
}


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
        "bearer": {"type": "http", "scheme": "bearer", "description": "mfk_… or mfs_… key"}
    }
    for path, operations in document["paths"].items():
        for operation in operations.values():
            operation.setdefault("parameters", []).append(_VERSION_HEADER)
            if path not in PUBLIC_PATHS:
                operation["security"] = [{"bearer": []}]
    app.openapi_schema = document
    return document
