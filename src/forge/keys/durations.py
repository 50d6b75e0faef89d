"""Durations written the way people write them: `90d`, `12h`, `30m`, `45s`, `2w`, `1y`."""

from __future__ import annotations

import re
from datetime import timedelta

# A year is 365 days; the longest key lifetime (366 days) leaves room for a leap year.
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# ASCII digits only (`\d` would read "١d" as one day); the caller bounds the converted value.
_DURATION = re.compile(r"^([0-9]{1,9})([smhdwy])$")


def parse(text: str) -> timedelta:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90d, 12h, 30m, 45s, 2w or 1y")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])
