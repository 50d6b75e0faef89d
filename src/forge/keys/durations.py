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
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90d, 12h, 30m, 45s, 2w or 1y")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])


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
