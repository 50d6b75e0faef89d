"""The body of `GET /v1/rate-limits`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from forge.ratelimit.limiter import Budget


class BucketOut(BaseModel):
    kind: str = Field(examples=["read"])
    limit: int = Field(examples=[1000], description="Requests allowed per window.")
    remaining: int = Field(examples=[991])
    reset: int = Field(
        examples=[1782192060], description="Epoch seconds at which the bucket is full again."
    )

    @classmethod
    def of(cls, budget: Budget) -> BucketOut:
        return cls(
            kind=budget.kind, limit=budget.limit, remaining=budget.remaining, reset=budget.reset
        )


class RateLimitsOut(BaseModel):
    buckets: list[BucketOut]
