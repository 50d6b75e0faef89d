"""The body of `GET /v1/rate-limits` (seed 003)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class BucketOut(BaseModel):
    kind: str = Field(examples=["read"])
    limit: int = Field(examples=[1000], description="Requests allowed per window.")
    remaining: int = Field(examples=[991])
    reset: int = Field(
        examples=[1782192060], description="Epoch seconds at which the bucket is full again."
    )


class RateLimitsOut(BaseModel):
    buckets: list[BucketOut]
