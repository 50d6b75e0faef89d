"""Redirects, the cache and jobs."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from forge_sdk.models._base import ForgeModel


class RedirectRule(ForgeModel):
    __schema__: ClassVar[str] = "RedirectRule"
    from_: str = Field(alias="from")
    to: str
    status: int = 301
    comment: str | None = None


class RedirectProblem(ForgeModel):
    """A validation problem or a warning about one rule (`param` like `rules[3].from`)."""

    __schema__: ClassVar[str] = "RedirectProblem"
    index: int | None = None
    param: str | None = None
    code: str
    message: str


class RedirectSet(ForgeModel):
    __schema__: ClassVar[str] = "RedirectSetOut"
    rules: list[RedirectRule]
    version: int
    updated_at: str | None
    updated_by: str | None
    warnings: list[RedirectProblem] = []


class RedirectVersion(ForgeModel):
    __schema__: ClassVar[str] = "RedirectVersionOut"
    version: int
    rule_count: int
    created_by: str | None
    created_at: str


class RedirectHop(ForgeModel):
    __schema__: ClassVar[str] = "RedirectHop"
    location: str
    status: int
    index: int


class MatchedRule(RedirectRule):
    __schema__: ClassVar[str] = "MatchedRule"
    index: int


class RedirectTest(ForgeModel):
    __schema__: ClassVar[str] = "RedirectTestOut"
    matched: bool
    rule: MatchedRule | None = None
    status: int | None = None
    location: str | None = None
    chain: list[RedirectHop] = []
    loop: bool = False


class JobResource(ForgeModel):
    __schema__: ClassVar[str] = "JobResource"
    type: str
    id: str


class Job(ForgeModel):
    """`queued → running → succeeded | failed`; a purge's `result` proves what each edge did."""

    __schema__: ClassVar[str] = "JobOut"
    id: str
    type: str
    status: str
    created_at: str
    resource: JobResource | None = None
    started_at: str | None = None
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: Any = None
    attempts: int = 0


class CacheState(ForgeModel):
    """Configuration (`default_ttl`, `max_object_bytes`) and state across live edges."""

    __schema__: ClassVar[str] = "CacheOut"
    default_ttl: int | None = None
    max_object_bytes: int | None = None
