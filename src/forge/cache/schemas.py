"""Bodies of the cache routes: the purge request, the body of `POST /api/v1/clear-cache`,
and the cache's configuration and state."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from forge.schemas import RequestBody, Timestamp

MAX_SELECTORS = 256
MAX_SELECTOR_CHARS = 1024
_PRINTABLE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
# The rules below as the schema declares them (the checks keep their own messages).
TAG_PATTERN = r"^[\x21-\x2b\x2d-\x7e]+$"
PATH_PATTERN = r"^/[\x21\x22\x24-\x3e\x40-\x7e]*$"
HASH_PATTERN = r"^[\x21-\x7e]+$"


def _tag(value: str) -> str:
    if not _PRINTABLE.fullmatch(value) or "," in value:
        raise ValueError("a tag is printable ASCII without spaces or commas")
    return value


def _path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("a path starts with /")
    if "?" in value or "#" in value:
        raise ValueError("a purge path has no query string or fragment (every variant is purged)")
    if not _PRINTABLE.fullmatch(value):
        raise ValueError("a path is printable ASCII without spaces (percent-encode the rest)")
    return value


def _cache_hash(value: str) -> str:
    if not _PRINTABLE.fullmatch(value):
        raise ValueError("a cache hash is the Forge-Cache-Hash header's value")
    return value


def _not_empty(values: list[str] | None) -> list[str] | None:
    if values is not None and not values:
        raise ValueError("an empty list selects nothing; leave it out to purge everything")
    return values


_Bounded = StringConstraints(min_length=1, max_length=MAX_SELECTOR_CHARS)
Tag = Annotated[
    str, _Bounded, AfterValidator(_tag), Field(json_schema_extra={"pattern": TAG_PATTERN})
]
PurgePath = Annotated[
    str, _Bounded, AfterValidator(_path), Field(json_schema_extra={"pattern": PATH_PATTERN})
]
CacheHash = Annotated[
    str, _Bounded, AfterValidator(_cache_hash), Field(json_schema_extra={"pattern": HASH_PATTERN})
]
# `_not_empty` refuses [] with its own message; the schema says minItems.
_SELECTORS = Field(max_length=MAX_SELECTORS, json_schema_extra={"minItems": 1})

Tags = Annotated[
    # The bound sits on the list itself: on `list | None` pydantic applies it to None too (500).
    Annotated[list[Tag], _SELECTORS] | None,
    AfterValidator(_not_empty),
    Field(
        description="Purge entries tagged with any of these (Surrogate-Key / Cache-Tag).",
    ),
]
Paths = Annotated[
    Annotated[list[PurgePath], _SELECTORS] | None,
    AfterValidator(_not_empty),
    Field(
        description="Purge these URL paths; `*` matches zero or more characters; a path "
        "without `*` purges every query and Vary variant of it. No query string or fragment.",
    ),
]
CacheHashes = Annotated[
    Annotated[list[CacheHash], _SELECTORS] | None,
    AfterValidator(_not_empty),
    Field(
        description="Purge the entries with these Forge-Cache-Hash values.",
    ),
]


def count_selectors(*lists: list[str] | None) -> int:
    return sum(len(values) for values in lists if values)


def _refuse_too_many(count: int) -> None:
    if count > MAX_SELECTORS:
        raise ValueError(
            f"a purge names at most {MAX_SELECTORS} selectors (tags, paths and hashes "
            f"together); this one names {count}"
        )


PurgeType = Literal["page", "object", "all"]
PurgeMode = Literal["hard", "soft"]


class PurgeRequest(RequestBody):
    """Selectors combine: an entry matching any of them (within `type`) is purged; none at
    all purges everything of `type` in the environment."""

    type: PurgeType = Field(default="all", description="page (HTML), object, or all")
    tags: Tags = None
    paths: Paths = None
    cache_hashes: CacheHashes = None
    mode: PurgeMode = Field(
        default="hard", description="hard evicts; soft marks stale (served while revalidated)"
    )
    dry_run: bool = Field(default=False, description="Purge nothing; report what would match.")

    @model_validator(mode="after")
    def _at_most_256(self) -> PurgeRequest:
        _refuse_too_many(count_selectors(self.tags, self.paths, self.cache_hashes))
        return self


_ONE_OF = ("paths", "surrogateKeys", "cacheHashes")


def _at_most_one_selector_list(schema: dict[str, Any]) -> None:
    """As `clear_cache._one_selector` refuses it: two of the lists, neither null."""
    pairs = [(a, b) for i, a in enumerate(_ONE_OF) for b in _ONE_OF[i + 1 :]]
    schema["not"] = {
        "anyOf": [
            {"required": [a, b], "properties": {a: {"type": "array"}, b: {"type": "array"}}}
            for a, b in pairs
        ]
    }


class ClearCacheRequest(RequestBody):
    """The body of `POST /api/v1/clear-cache`: the environment named by slugs, camelCase
    selectors (the field names deploy scripts written for that route send)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_at_most_one_selector_list)

    team: str = Field(max_length=63, description="The team's slug.")
    site: str = Field(max_length=63, description="The site's slug.")
    environment: str = Field(max_length=63, description="The environment's name.")
    paths: Paths = None
    surrogateKeys: Tags = None  # that route's own names
    cacheHashes: CacheHashes = None

    @model_validator(mode="after")
    def _at_most_256(self) -> ClearCacheRequest:
        _refuse_too_many(count_selectors(self.paths, self.surrogateKeys, self.cacheHashes))
        return self


class CacheUpdate(RequestBody):
    default_ttl: int | None = Field(
        default=None,
        ge=0,
        le=31_536_000,
        description="Seconds to keep a response that has no caching headers (0: not cached).",
    )
    max_object_bytes: int | None = Field(
        default=None, ge=1, le=1 << 30, description="Largest body stored; larger ones stream."
    )


class CachedWhat(BaseModel):
    methods: list[str] = ["GET", "HEAD"]
    types: list[str] = ["page", "object"]
    freshness: str = "s-maxage, then max-age, then Expires; default_ttl when none is given"
    not_stored: list[str] = [
        "Cache-Control: no-store, private or no-cache",
        "responses with Set-Cookie",
        "Vary: *",
        "5xx responses",
        "bodies larger than max_object_bytes",
    ]


class CacheConfig(BaseModel):
    default_ttl: int
    max_object_bytes: int
    cached: CachedWhat = Field(default_factory=CachedWhat)


class ByType(BaseModel):
    page: int = 0
    object: int = 0
    total: int = 0


class TagCount(BaseModel):
    tag: str
    entries: int


class CacheState(BaseModel):
    """Summed over the live edges' published statistics (entries are per edge copy)."""

    entries: ByType
    bytes: ByType
    hits: int = Field(description="Since each live edge started.")
    misses: int
    hit_ratio: float | None = Field(description="hits / (hits + misses); null before any.")
    top_tags: list[TagCount] = Field(description="At most 20, by entry count.")
    edges_reporting: int


class LastPurge(BaseModel):
    job: str
    status: str
    seq: int
    created_at: Timestamp
    selector: dict[str, Any]
    dry_run: bool


class EdgeOut(BaseModel):
    id: str
    name: str
    address: str
    status: Literal["live", "down"]
    applied_seq: int
    heartbeat_at: Timestamp
    started_at: Timestamp


class CacheOut(BaseModel):
    environment: str
    config: CacheConfig
    state: CacheState
    last_purge: LastPurge | None
    edges: list[EdgeOut]
