"""Helpers the resource modules share."""

from __future__ import annotations

from typing import Any, Final


class NotGiven:
    """A field left out of a PATCH (distinct from `None`, which the API reads as "clear")."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

ENV = "/v1/sites/{site}/environments/{env}"


def fields(**values: Any) -> dict[str, Any]:
    """A request body of the fields actually given (NOT_GIVEN dropped, None kept)."""
    return {k: v for k, v in values.items() if v is not NOT_GIVEN}


def present(**values: Any) -> dict[str, Any]:
    """A request body or query of the fields that have a value (None dropped)."""
    return {k: v for k, v in values.items() if v is not None}
