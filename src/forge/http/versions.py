"""Dated API versions selected by `Forge-Version`.

Handlers are written for the latest version. A future breaking change adds its date here with
a module that transforms requests forward and responses backward, so older clients keep working.
"""

import re

from forge.errors import InvalidVersion

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

LATEST = "2026-06-23"
SUPPORTED: tuple[str, ...] = (LATEST,)


def resolve(requested: str | None) -> str:
    if requested is None or requested == "":
        return LATEST
    if requested not in SUPPORTED:
        # Echo only what looks like a date: a key pasted here must never come back.
        shown = repr(requested) if _DATE.fullmatch(requested) else "given"
        raise InvalidVersion(
            f"Unknown Forge-Version {shown}; supported: {', '.join(SUPPORTED)}.",
            param="Forge-Version",
        )
    return requested
