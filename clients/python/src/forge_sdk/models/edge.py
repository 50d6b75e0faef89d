"""Redirects, the cache and jobs."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from forge_sdk.models._base import ForgeModel


class RedirectRule(ForgeModel):
    """`from` is a Python keyword: the field is `from_`, sent and read as `from`."""

    __schema__: ClassVar[str] = "RuleOut"
    from_: str = Field(alias="from")
    to: str
    status: int = 301
    comment: str | None = None


class RedirectProblem(ForgeModel):
    """A warning about one rule (`param` like `rules[3].to`): chains are allowed, but cost a hop."""

    __schema__: ClassVar[str] = "ProblemOut"
    index: int | None
    param: str
    code: str
    message: str


class RedirectSet(ForgeModel):
    """The rule set in order. `.etag` (`"v3"`) is what `replace(if_match=…)` takes back."""

    __schema__: ClassVar[str] = "RedirectSetOut"
    rules: list[RedirectRule]
    version: int
    updated_at: str | None
    updated_by: str | None


class WrittenRedirectSet(RedirectSet):
    __schema__: ClassVar[str] = "RedirectSetWritten"
    warnings: list[RedirectProblem]


class RedirectVersion(ForgeModel):
    __schema__: ClassVar[str] = "RedirectVersionOut"
    version: int
    rule_count: int
    restored_from: int | None
    created_by: str | None
    created_at: str


class RedirectHop(ForgeModel):
    __schema__: ClassVar[str] = "HopOut"
    location: str
    status: int
    index: int


class MatchedRule(RedirectRule):
    __schema__: ClassVar[str] = "MatchedRule"
    index: int


class RedirectTest(ForgeModel):
    __schema__: ClassVar[str] = "RedirectTestOut"
    matched: bool
    rule: MatchedRule | None
    status: int | None
    location: str | None
    chain: list[RedirectHop]
    loop: bool
    version: int


class JobResource(ForgeModel):
    __schema__: ClassVar[str] = "JobResource"
    type: str
    id: str


class Job(ForgeModel):
    """`queued → running → succeeded | failed`; a purge's `result` proves what each edge did:
    `{"purge", "edges": [{edge, applied_at, matched, evicted, marked_stale}], "totals",
    "edges_down"}`."""

    __schema__: ClassVar[str] = "JobOut"
    id: str
    type: str
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    resource: JobResource
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    attempts: int


class CachedWhat(ForgeModel):
    __schema__: ClassVar[str] = "CachedWhat"
    methods: list[str] = []
    types: list[str] = []
    freshness: str = ""
    not_stored: list[str] = []


class CacheConfig(ForgeModel):
    __schema__: ClassVar[str] = "CacheConfig"
    default_ttl: int
    max_object_bytes: int
    cached: CachedWhat | None = None


class ByType(ForgeModel):
    __schema__: ClassVar[str] = "ByType"
    page: int = 0
    object: int = 0
    total: int = 0


class TagCount(ForgeModel):
    __schema__: ClassVar[str] = "TagCount"
    tag: str
    entries: int


class CacheStats(ForgeModel):
    """Summed over the live edges."""

    __schema__: ClassVar[str] = "CacheState"
    entries: ByType
    bytes: ByType
    hits: int
    misses: int
    hit_ratio: float | None
    top_tags: list[TagCount]
    edges_reporting: int


class LastPurge(ForgeModel):
    __schema__: ClassVar[str] = "LastPurge"
    job: str
    status: str
    seq: int
    created_at: str
    selector: dict[str, Any]
    dry_run: bool


class EdgeInfo(ForgeModel):
    __schema__: ClassVar[str] = "EdgeOut"
    id: str
    name: str
    address: str
    status: Literal["live", "down"]
    applied_seq: int
    heartbeat_at: str
    started_at: str


class CacheOverview(ForgeModel):
    """An environment's cache: configuration, state across live edges, last purge, edges."""

    __schema__: ClassVar[str] = "CacheOut"
    environment: str
    config: CacheConfig
    state: CacheStats
    last_purge: LastPurge | None
    edges: list[EdgeInfo]
