"""Dated API versions selected by `Forge-Version`.

Handlers are written for the latest version. A future breaking change adds its date here with
a module that transforms requests forward and responses backward, so older clients keep working.
"""

from forge.errors import InvalidVersion

LATEST = "2026-06-23"
SUPPORTED: tuple[str, ...] = (LATEST,)


def resolve(requested: str | None) -> str:
    if requested is None or requested == "":
        return LATEST
    if requested not in SUPPORTED:
        raise InvalidVersion(
            f"Unknown Forge-Version {requested!r}; supported: {', '.join(SUPPORTED)}.",
            param="Forge-Version",
        )
    return requested
