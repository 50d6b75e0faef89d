"""Render docs/api.md from the OpenAPI document, so the reference never drifts from the code.

`python tools/api_reference.py` rewrites docs/api.md; `--check` exits 1 if it is stale.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from forge import migrate
from forge.app import create_app
from forge.config import load_settings
from forge.db import Database

OUT = Path(__file__).resolve().parent.parent / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(ref_holder: dict[str, Any]) -> str:
    ref = ref_holder.get("$ref")
    if ref:
        return f"`{ref.rsplit('/', 1)[-1]}`"
    if ref_holder.get("type") == "array":
        return f"array of {_schema_name(ref_holder.get('items', {}))}"
    return f"`{ref_holder.get('type', 'object')}`"


def _body(operation: dict[str, Any]) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _schema_name(schema) if schema else "—"


def _success(operation: dict[str, Any]) -> str:
    for status, response in sorted(operation.get("responses", {}).items()):
        if status.startswith("2"):
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            return f"{status} {_schema_name(schema) if schema else ''}".strip()
    return "—"


def _params(operation: dict[str, Any]) -> str:
    names = [
        f"`{p['name']}` ({p['in']})"
        for p in operation.get("parameters", [])
        if p["name"] != "Forge-Version"
    ]
    return ", ".join(names) or "—"


def render(document: dict[str, Any]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from `/v1/openapi.json` by `tools/api_reference.py`; do not edit by hand.",
        "Every operation accepts `Forge-Version` and answers `{data, request_id}` or the error",
        "shape in [errors.md](errors.md). Scope `—` with a bucket means any valid key; no bucket",
        "means no authentication.",
        "",
        "| Method | Path | Summary | Scope | Bucket | Parameters | Body | Success |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path, operations in sorted(document["paths"].items()):
        for method in METHODS:
            op = operations.get(method)
            if op is None:
                continue
            scope = op.get("x-forge-scope") or "—"
            bucket = op.get("x-forge-bucket") or ""
            lines.append(
                f"| {method.upper()} | `{path}` | {op.get('summary', '')} | "
                f"{'`' + scope + '`' if scope != '—' else scope} | {bucket} | {_params(op)} | "
                f"{_body(op)} | {_success(op)} |"
            )
    lines += ["", "## Schemas", ""]
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        fields = ", ".join(f"`{f}`" for f in schema.get("properties", {}))
        if fields:
            lines.append(f"- **{name}**: {fields}")
    return "\n".join(lines) + "\n"


def _document() -> dict[str, Any]:
    """The app needs a migrated database to start (its keyring check reads it): a scratch one."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings({"FORGE_DATA_DIR": data_dir})
        database = Database(settings.database_url)
        migrate.upgrade(database)
        try:
            return create_app(settings, database).openapi()
        finally:
            database.dispose()


def main() -> int:
    text = render(_document())
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            print("docs/api.md is stale: run `python tools/api_reference.py`")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
