"""One source of the current time, so every timestamp is UTC and tests can reason about it."""

import functools
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=4096)  # the same stored moments are shown request after request
def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, seconds precision (what every response shows)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
