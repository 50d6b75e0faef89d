"""Rate limits at the HTTP edge: spend a key's unit, refuse with 429, and say so in headers.

Every authenticated request spends one unit of its route's bucket right after
authentication (so a request that then 404s, 403s or 422s has spent it too); bucket "free"
spends nothing. Failed authentications spend from a per-address bucket; once it is empty,
that address is answered 429 before any key look-up.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from forge.errors import RateLimited
from forge.principal import Principal
from forge.ratelimit.limiter import AUTH_FAILURES, Budget, RateLimiter


def headers_for(budget: Budget) -> dict[str, str]:
    # `t` says when to come back: on a refusal the wait for the next unit (= Retry-After),
    # otherwise the time until the bucket is full again (= X-RateLimit-Reset).
    seconds = budget.resets_in if budget.allowed else budget.retry_after
    return {
        "X-RateLimit-Limit": str(budget.limit),
        "X-RateLimit-Remaining": str(budget.remaining),
        "X-RateLimit-Reset": str(budget.reset),
        "X-RateLimit-Bucket": budget.kind,
        "RateLimit-Policy": f'"{budget.kind}";q={budget.limit};w={budget.window}',
        "RateLimit": f'"{budget.kind}";r={budget.remaining};t={seconds}',
    }


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def _announce(request: Request, budget: Budget) -> None:
    request.scope.setdefault("state", {}).setdefault("response_headers", {}).update(
        headers_for(budget)
    )


def _refusal(budget: Budget, what: str) -> RateLimited:
    return RateLimited(
        f"Too many {what}; retry in {budget.retry_after} s.",
        headers={"Retry-After": str(budget.retry_after)},
        extra={"bucket": budget.kind, "retry_after": budget.retry_after},
    )


async def spend(request: Request, principal: Principal, bucket: str) -> None:
    if bucket == "free":
        return
    budget = await _limiter(request).spend(principal, bucket)
    _announce(request, budget)
    if not budget.allowed:
        raise _refusal(budget, f"'{bucket}' requests for this key")


def counted_address(address: str) -> str:
    """IPv6 clients are counted per /64, the block one subscriber usually holds (else each
    guess could come from a fresh address); IPv4 per address."""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    except ValueError:
        return address


def refuse_blocked_address(request: Request, address: str) -> None:
    """Before any key look-up: an address that used up its failed authentications waits."""
    wait = _limiter(request).blocked(counted_address(address))
    if wait:
        raise RateLimited(
            f"Too many failed authentications from this address; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
            extra={"bucket": AUTH_FAILURES, "retry_after": wait},
        )


async def count_failed_authentication(request: Request, address: str) -> None:
    """After a 401: spend from the address's failure bucket; raise 429 once it is empty."""
    budget = await _limiter(request).failed_authentication(counted_address(address))
    _announce(request, budget)
    if not budget.allowed:
        raise _refusal(budget, "failed authentications from this address")
