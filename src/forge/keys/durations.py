"""Durations written the way people write them: `90d`, `12h`, `30m`, `45s`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")


def parse(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90d, 12h, 30m, 45s or 2w")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])
