"""Durations written the way people write them (`90d`, `12h`, `30m`, `45s`, `2w`, `1y`), and
the one rule for each duration a key takes: its lifetime and a roll's grace window. The body
schemas and the service both call these, so an API caller and the operator CLI meet the same
bounds and the same words."""

from __future__ import annotations

import re
from datetime import timedelta

# A year is 365 days; the longest key lifetime (366 days) leaves room for a leap year.
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# ASCII digits only (`\d` would read "١d" as one day); the caller bounds the converted value.
_DURATION = re.compile(r"^([0-9]{1,9})([smhdwy])$")

DEFAULT_TTL = timedelta(days=90)
MAX_TTL = timedelta(days=366)
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)


def parse(text: str) -> timedelta:
    match = _DURATION.fullmatch(text)  # `match` with `$` would take "90d\n"
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90d, 12h, 30m, 45s, 2w or 1y")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])


def written(duration: timedelta) -> str:
    """A duration as `parse` reads it, in the largest of d, h, m, s that is exact (`90d`)."""
    seconds = int(duration.total_seconds())
    unit = next(u for u in "dhms" if seconds % _UNITS[u] == 0)
    return f"{seconds // _UNITS[unit]}{unit}"


def check_ttl(ttl: timedelta) -> timedelta:
    """A key's lifetime, as given; ValueError (its message a rule to show) when out of bounds."""
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValueError("must be more than 0s and at most 1y (366d)")
    return ttl


def check_grace(grace: timedelta) -> timedelta:
    """How long a rolled key's old secret keeps working, as given; ValueError out of bounds."""
    if grace < timedelta(0) or grace > MAX_GRACE:
        raise ValueError("must be at most 7d (0s ends the old secret at once)")
    return grace


def _any_digits(count: int) -> str:
    return "" if count == 0 else "[0-9]" if count == 1 else f"[0-9]{{{count}}}"


def _one_to(limit: int) -> str:
    """A regex alternation of the decimal numbers 1…limit, written without leading zeros."""
    digits = str(limit)
    width = len(digits)
    shorter = {1: [], 2: ["[1-9]"]}.get(width, [f"[1-9][0-9]{{0,{width - 2}}}"])
    same_width = []
    for i, digit in enumerate(digits):
        lowest, below = (1 if i == 0 else 0), int(digit) - 1
        if below >= lowest:
            choice = str(below) if below == lowest else f"[{lowest}-{below}]"
            same_width.append(digits[:i] + choice + _any_digits(width - i - 1))
    return "|".join([*shorter, *same_width, digits])


def schema(longest: timedelta, zero: bool) -> dict[str, object]:
    """The JSON Schema of the durations `parse` reads and a check accepts: from more than 0s
    (or from 0s when `zero`) to `longest`, in each unit, leading zeros and all (`parse` takes up
    to 9 digits: hence the length). Exact, so a schema-valid duration is never refused."""
    units = []
    for unit, seconds in _UNITS.items():
        most = int(longest.total_seconds()) // seconds
        amounts = ([f"0*(?:{_one_to(most)})"] if most else []) + (["0+"] if zero else [])
        if amounts:
            units.append(f"(?:{'|'.join(amounts)}){unit}")
    return {"type": "string", "maxLength": 10, "pattern": f"^(?:{'|'.join(units)})$"}
