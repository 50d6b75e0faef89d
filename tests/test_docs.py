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


README = DOCS.parent / "README.md"
# The one value a reader puts in (the key `make run` printed), and an example secret value.
PLACEHOLDERS = {"FORGE_TOKEN=mfk_test_…", '"sk_test_51N…"', '\'{ "value": "sk_test_51N…" }\''}


def _shell_words(script: str) -> tuple[str, list[str]]:
    """A shell script's text outside quotes (comments dropped) and its words, each with its
    quotes (a quoted string spanning lines is one word)."""
    unquoted, words, word = [], [], ""
    quote, i = "", 0
    while i < len(script):
        c = script[i]
        if quote:
            word += c
            if c == "\\" and quote == '"':
                word += script[i + 1]
                i += 1
            elif c == quote:
                quote = ""
        elif c == "#" and not word:
            i = script.find("\n", i)
            i = len(script) if i < 0 else i
            continue
        elif c in "'\"":
            quote, word = c, word + c
        elif c.isspace():
            words, word = [*words, word] if word else words, ""
            unquoted.append(c)
        else:
            word += c
            unquoted.append(c)
        i += 1
    return "".join(unquoted), [*words, word] if word else words


def _readme_scripts() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)


def test_the_readme_quotes_every_url_with_a_query() -> None:
    """Unquoted, `?` is a glob: zsh stops at "no matches found", bash may expand it."""
    for script in _readme_scripts():
        unquoted, _ = _shell_words(script)
        assert "?" not in unquoted, [w for w in _shell_words(script)[1] if "?" in w]


def test_the_readme_runs_on_what_earlier_steps_captured_not_on_sample_values() -> None:
    """Every id, prefix or key a step uses comes from a variable an earlier step set: no
    `key_…`, `job_…` or `mfk_test_b1c4` left for the reader to guess."""
    for script in _readme_scripts():
        _, words = _shell_words(script)
        samples = [w for w in words if "…" in w and w not in PLACEHOLDERS]
        assert samples == [], samples
        assert "b1c4" not in " ".join(words)
