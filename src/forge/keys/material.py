"""Key material where it does not belong: found (shape and checksum, offline) and redacted.

A string is key material when it parses as a Forge key with a valid checksum (forge.keys.tokens);
a look-alike without one is just text. Pure: no HTTP, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from forge.keys import tokens

_CANDIDATE = re.compile(r"(mf[ks]_(?:live|test)_)([0-9A-Za-z]{30})([0-9A-Za-z]{6})(?![0-9A-Za-z])")
_PASTED_KEY = re.compile(r"(mf[kso]_[a-z]+_[0-9A-Za-z]{4})[0-9A-Za-z]+")


def is_key(text: str) -> bool:
    """Does `text` contain a whole Forge key with a valid checksum?"""
    if "mf" not in text:
        return False
    return any(
        tokens.checksum(random_part) == given for _, random_part, given in _CANDIDATE.findall(text)
    )


def redact(text: str) -> str:
    """Keep a pasted key's public prefix, drop the rest (a path can carry one by mistake)."""
    return _PASTED_KEY.sub(r"\1…", text) if "mf" in text else text


def _strings(document: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(document, str):
        yield where, document
    elif isinstance(document, dict):
        for name, value in document.items():
            path = f"{where}.{name}" if where else str(name)
            yield path, str(name)
            yield from _strings(value, path)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _strings(value, f"{where}[{index}]")


def key_in_document(document: Any, exempt: frozenset[str] = frozenset()) -> str | None:
    """The first place (`name`, `scopes[0]`, …) in a JSON document holding a key, or None.
    `exempt` names top-level fields made to hold credentials (a secret's value)."""
    for where, text in _strings(document, ""):
        if where.split(".", 1)[0].split("[", 1)[0] in exempt:
            continue
        if is_key(text):
            return where
    return None
