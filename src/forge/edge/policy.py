"""What the edge may store and for how long, and which tags an origin response carries.

Pure functions over a response's status and headers (lower-case names, `str` values): no HTTP
server, no database. The rules are documented in docs/edge.md ("What is cached").
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# Statuses a cache may store; 5xx never. (RFC 9110's heuristically cacheable set, plus 302/307
# when the origin says how long.)
CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414})
DEFAULT_TTL_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414})

MAX_TAG_BYTES = 1024
MAX_TAG_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Freshness:
    """How long a stored response is fresh, and how long after that it may still be served."""

    ttl: float
    stale_while_revalidate: float
    stale_if_error: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """Store it for `freshness`, or not (then `reason` says why)."""

    freshness: Freshness | None
    reason: str


def parse_cache_control(values: list[str]) -> dict[str, str | None]:
    """Directive → argument (None without one); names lower-case, quotes removed."""
    directives: dict[str, str | None] = {}
    for value in values:
        for part in value.split(","):
            name, sep, argument = part.strip().partition("=")
            name = name.strip().lower()
            if name:
                directives[name] = argument.strip().strip('"') if sep else None
    return directives


def _seconds(argument: str | None) -> float | None:
    if argument is None:
        return None
    try:
        value = int(argument)
    except ValueError:
        return None
    return float(max(value, 0))


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP date, or None when it does not parse."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _explicit_ttl(
    directives: dict[str, str | None], headers: dict[str, list[str]], now: float
) -> float | None:
    """s-maxage over max-age over Expires; None when the response names no lifetime."""
    for name in ("s-maxage", "max-age"):
        if name in directives:
            return _seconds(directives[name]) or 0.0
    expires = headers.get("expires")
    if expires:
        at = parse_http_date(expires[0])
        if at is None:  # an invalid Expires means "already expired"
            return 0.0
        date = parse_http_date((headers.get("date") or [""])[0]) or now
        return max(at - date, 0.0)
    return None


def _refusal(
    status: int, directives: dict[str, str | None], headers: dict[str, list[str]]
) -> str | None:
    if status >= 500:
        return "5xx responses are never cached"
    if status not in CACHEABLE_STATUSES:
        return f"status {status} is not cacheable"
    for directive in ("no-store", "private", "no-cache"):
        if directive in directives:
            return f"Cache-Control: {directive}"
    if "set-cookie" in headers:
        return "the response sets a cookie"
    if any(v.strip() == "*" for value in headers.get("vary", ()) for v in value.split(",")):
        return "Vary: *"
    return None


def judge(
    status: int,
    headers: dict[str, list[str]],
    default_ttl: int,
    now: float,
    authorized: bool = False,
) -> Verdict:
    """Whether and how long to store one origin response (`headers`: lower-case names)."""
    directives = parse_cache_control(headers.get("cache-control", []))
    refusal = _refusal(status, directives, headers)
    if refusal is not None:
        return Verdict(None, refusal)
    if authorized and not ({"public", "s-maxage"} & directives.keys()):
        return Verdict(None, "the request carried Authorization")
    ttl = _explicit_ttl(directives, headers, now)
    if ttl is None:
        if default_ttl <= 0 or status not in DEFAULT_TTL_STATUSES:
            return Verdict(None, "no caching headers and no default_ttl")
        ttl = float(default_ttl)
    ages = headers.get("age")
    age = (_seconds(ages[0]) if ages else None) or 0.0
    ttl -= age
    swr = _seconds(directives.get("stale-while-revalidate")) or 0.0
    sie = _seconds(directives.get("stale-if-error")) or 0.0
    if ttl <= 0 and swr <= 0 and sie <= 0:
        return Verdict(None, "already expired")
    return Verdict(Freshness(max(ttl, 0.0), swr, sie), "cacheable")


class TagError(ValueError):
    """The origin's tags cannot be honoured; the response is then not stored."""


def _check_tag(tag: str) -> None:
    if len(tag.encode()) > MAX_TAG_BYTES:
        raise TagError(f"a tag is {len(tag.encode())} bytes (at most {MAX_TAG_BYTES})")
    if not all(" " <= ch <= "~" for ch in tag):
        raise TagError(f"tag {tag[:64]!r} is not printable ASCII")


def parse_tags(headers: dict[str, list[str]]) -> tuple[str, ...]:
    """Tags from `Surrogate-Key` (space-separated) and `Cache-Tag` (comma-separated), in first
    seen order without repeats. Raises TagError for a tag or header over its limit."""
    surrogate = headers.get("surrogate-key", [])
    cache_tag = headers.get("cache-tag", [])
    total = sum(len(v.encode()) for v in (*surrogate, *cache_tag))
    if total > MAX_TAG_HEADER_BYTES:
        raise TagError(f"tag headers are {total} bytes (at most {MAX_TAG_HEADER_BYTES})")
    tags: dict[str, None] = {}
    for value in surrogate:
        for tag in value.split():
            _check_tag(tag)
            tags[tag] = None
    for value in cache_tag:
        for part in value.split(","):
            tag = part.strip()
            if tag:
                _check_tag(tag)
                tags[tag] = None
    return tuple(tags)


def vary_names(headers: dict[str, list[str]]) -> tuple[str, ...]:
    """The request headers a response varies on: lower-case, first-seen order, no repeats."""
    names: dict[str, None] = {}
    for value in headers.get("vary", ()):
        for part in value.split(","):
            name = part.strip().lower()
            if name:
                names[name] = None
    return tuple(names)
