"""The docs say what the code does: the API reference and the configuration table are
regenerated, the error catalogue complete."""

import re
from pathlib import Path

from fastapi import FastAPI

from forge.errors import CATALOGUE
from tools import config_reference
from tools.api_reference import OUT, render

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_api_reference_is_generated_from_the_current_openapi_document(app: FastAPI) -> None:
    assert OUT.read_text() == render(app.openapi()), "run: python tools/api_reference.py"


def test_the_configuration_table_is_generated_from_the_settings_declarations() -> None:
    operations = config_reference.OUT.read_text()
    assert operations == config_reference.render(operations), (
        "run: python tools/config_reference.py"
    )
    # A hand-edited row (here: a default) is put back, so the comparison above would catch it.
    edited = operations.replace(
        "| `FORGE_RATELIMIT_READ` | integer ≥ 1 | `1000` |", "| x | y | z |"
    )
    assert edited != operations and config_reference.render(edited) == operations


def test_every_error_code_is_in_the_catalogue() -> None:
    catalogue = (DOCS / "errors.md").read_text()
    for error in CATALOGUE:
        assert f"| {error.status} | `{error.code}` | `{error.type}` |" in catalogue, error.code


def test_the_docs_name_no_internal_document() -> None:
    internal = re.compile(r"seed[ _-]?\d|the seed|PRODUCT\.md|ANCHORS", re.IGNORECASE)
    pages = [
        *DOCS.glob("*.md"),
        DOCS.parent / "README.md",
        DOCS.parent / "clients/python/README.md",
    ]
    found = {page.name: internal.findall(page.read_text()) for page in pages}
    assert {name: hits for name, hits in found.items() if hits} == {}
