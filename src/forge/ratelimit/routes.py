"""`GET /v1/rate-limits`: the calling key's budget in every bucket, spending nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope
from forge.http.routing import ForgeRoute
from forge.ratelimit import service
from forge.ratelimit.schemas import BucketOut, RateLimitsOut

router = APIRouter(prefix="/v1/rate-limits", tags=["rate limits"], route_class=ForgeRoute)

AnyKey = Annotated[Access, Scoped(None, bucket="free")]


@router.get("", summary="Read your rate-limit budget (spends nothing)")
async def read_rate_limits(access: AnyKey, request: Request) -> Envelope[RateLimitsOut]:
    buckets = await service.budgets(request.app.state, access.principal)
    return Envelope(data=RateLimitsOut(buckets=[BucketOut.of(b) for b in buckets]))
