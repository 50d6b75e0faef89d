"""Request and response bodies of the redirect routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from forge.redirects.engine import Rule


class RuleIn(BaseModel):
    """Lengths, statuses and the grammar are checked with the whole set, so that one 422 lists
    every problem at once (validation.check), not here."""

    model_config = ConfigDict(extra="forbid")

    from_: str = Field(alias="from", examples=["/blog/*"])
    to: str = Field(examples=["/news/:splat"])
    status: int = Field(default=301, description="301, 302, 307 or 308.")
    comment: str | None = Field(default=None, description="Up to 500 characters.")

    def rule(self) -> Rule:
        return Rule(self.from_, self.to, self.status, self.comment)


class RuleSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(description="The complete set, in order (first match wins).")


class RuleOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from")
    to: str
    status: int
    comment: str | None


class RedirectSetOut(BaseModel):
    rules: list[RuleOut]
    version: int = Field(description="0 until the first replacement.")
    updated_at: datetime | None
    updated_by: str | None


class ProblemOut(BaseModel):
    index: int | None
    param: str
    code: str
    message: str


class RedirectSetWritten(RedirectSetOut):
    warnings: list[ProblemOut] = Field(description="Chains: allowed, but each costs a hop.")


class RedirectVersionOut(BaseModel):
    version: int
    rule_count: int
    restored_from: int | None
    created_by: str | None
    created_at: datetime


class RedirectTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None, max_length=8192, examples=["https://example.com/blog/x?utm=1"]
    )
    path: str | None = Field(default=None, max_length=8192, examples=["/blog/x?utm=1"])

    @model_validator(mode="after")
    def _one_of(self) -> RedirectTestIn:
        if (self.url is None) == (self.path is None):
            raise ValueError("send exactly one of `url` and `path`")
        return self


class MatchedRule(RuleOut):
    index: int


class HopOut(BaseModel):
    location: str
    status: int
    index: int


class RedirectTestOut(BaseModel):
    matched: bool
    rule: MatchedRule | None
    status: int | None
    location: str | None = Field(description="The first hop's target, query applied.")
    chain: list[HopOut] = Field(description="Every hop a client would follow.")
    loop: bool
    version: int = Field(description="The version of the set tested.")
