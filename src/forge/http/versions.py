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
    """The version in force: the latest when the header is absent. An empty header is refused,
    like any value outside the enum: sending one is a mistake (a template's unset variable),
    not a request for the latest."""
    if requested is None:
        return LATEST
    if requested == "":
        raise InvalidVersion(
            f"Forge-Version is empty; send one of {', '.join(SUPPORTED)}, or omit the header "
            "for the latest.",
            param="Forge-Version",
        )
    if requested not in SUPPORTED:
        # Echo only what looks like a date: a key pasted here must never come back.
        shown = repr(requested) if _DATE.fullmatch(requested) else "given"
        raise InvalidVersion(
            f"Unknown Forge-Version {shown}; supported: {', '.join(SUPPORTED)}.",
            param="Forge-Version",
        )
    return requested
