"""The rate limiter a process runs: which limit applies to a key, and what a spend leaves.

Limits come from the defaults (`FORGE_RATELIMIT_READ|WRITE|CREATE` per
`FORGE_RATELIMIT_WINDOW` seconds), overridden per team and, winning over that, per key. The
overrides are read from the database at most once per `OverrideCache.TTL_SECONDS` per process
and kept in memory, so no request pays a query for them; a change made with
`forge admin limits` reaches every process within that delay.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from forge.principal import Principal
from forge.ratelimit.backends import Backend, Verdict

log = logging.getLogger("forge.ratelimit")

BUCKETS = ("read", "write", "create")
AUTH_FAILURES = "auth_failures"

OverrideTable = dict[tuple[str, str, str], int]


@dataclass(frozen=True)
class Budget:
    """A bucket's state after a decision, as the headers and `/v1/rate-limits` report it."""

    kind: str
    limit: int
    window: int  # seconds
    remaining: int
    reset: int  # epoch seconds at which the bucket is full again
    resets_in: int  # seconds until then
    allowed: bool
    retry_after: int  # seconds until the next unit is free (0 while some are left)


def budget_of(kind: str, limit: int, window_us: int, verdict: Verdict) -> Budget:
    debt = max(verdict.tat_us - verdict.now_us, 0)
    remaining = max((window_us - debt) * limit // window_us, 0)
    # The next unit frees up once the TAT is no more than one window minus one interval ahead.
    wait_us = verdict.tat_us + window_us / limit - window_us - verdict.now_us
    return Budget(
        kind=kind,
        limit=limit,
        window=window_us // 1_000_000,
        remaining=remaining,
        reset=math.ceil(max(verdict.tat_us, verdict.now_us) / 1_000_000),
        resets_in=math.ceil(debt / 1_000_000),
        allowed=verdict.allowed,
        retry_after=max(math.ceil(wait_us / 1_000_000), 1) if remaining == 0 else 0,
    )


class OverrideCache:
    """All overrides, reloaded when older than TTL_SECONDS. A failed reload keeps the last
    table (and is retried after the same delay)."""

    TTL_SECONDS = 5.0

    def __init__(self, load: Callable[[], OverrideTable], ttl: float = TTL_SECONDS) -> None:
        self._load = load
        self._ttl = ttl
        self._table: OverrideTable = {}
        self._expires = 0.0
        self._lock = threading.Lock()

    def limit(self, key_id: str, team_id: str, bucket: str) -> int | None:
        """From memory only: the pipeline refreshes the table off the event loop first."""
        table = self._table
        if not table:
            return None
        return table.get(("key", key_id, bucket)) or table.get(("team", team_id, bucket))

    def invalidate(self) -> None:
        self._expires = 0.0

    def refresh_if_stale(self) -> None:
        """Reload when older than the TTL (a database read, through `Database.reads`). While
        one caller reloads, the others go on with the table they have: a caller that waited
        for the lock could be a stage on the event loop whose reload is the one it waits on
        (`forge.loop_reads`). The app loads the table once before serving."""
        if time.monotonic() < self._expires:
            return
        if not self._lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() < self._expires:
                return
            try:
                self._table = self._load()
            except Exception:  # the database is down: keep the limits we know
                log.warning("rate limiter: could not reload limit overrides", exc_info=True)
            self._expires = time.monotonic() + self._ttl
        finally:
            self._lock.release()


class RateLimiter:
    def __init__(
        self,
        backend: Backend,
        defaults: dict[str, int],
        window: int,
        overrides: OverrideCache,
        auth_failures: int,
    ) -> None:
        self.backend = backend
        self.defaults = defaults
        self.window_us = window * 1_000_000
        self.overrides = overrides
        self.auth_failures = auth_failures
        # Tests pin the clock; None means the backend's own (Redis: the server's).
        self.clock: Callable[[], int] | None = None
        self._blocked: dict[str, float] = {}

    def limit_for(self, principal: Principal, bucket: str) -> int:
        found = self.overrides.limit(principal.key_id, principal.team_id, bucket)
        return found if found is not None else self.defaults[bucket]

    async def _decide(self, key: str, kind: str, limit: int, cost: int) -> Budget:
        now = self.clock() if self.clock is not None else None
        verdict = await self.backend.spend(key, limit, self.window_us, cost, now)
        return budget_of(kind, limit, self.window_us, verdict)

    async def spend(self, principal: Principal, bucket: str) -> Budget:
        """One unit of `bucket` for the principal's key."""
        limit = self.limit_for(principal, bucket)
        return await self._decide(f"{bucket}:{principal.key_id}", bucket, limit, 1)

    async def peek(self, principal: Principal, bucket: str) -> Budget:
        limit = self.limit_for(principal, bucket)
        return await self._decide(f"{bucket}:{principal.key_id}", bucket, limit, 0)

    def blocked(self, address: str) -> int:
        """Seconds this address is still refused before any key look-up (0: not blocked).
        Remembered per process: each process learns it from its own refused failure."""
        until = self._blocked.get(address)
        if until is None:
            return 0
        left = until - self._seconds()
        if left <= 0:
            del self._blocked[address]
            return 0
        return math.ceil(left)

    async def failed_authentication(self, address: str) -> Budget:
        """Count one failed authentication from `address`; once over the limit the address
        is blocked (in this process) until a unit frees up."""
        budget = await self._decide(
            f"{AUTH_FAILURES}:{address}", AUTH_FAILURES, self.auth_failures, 1
        )
        if not budget.allowed:
            if len(self._blocked) > 100_000:  # a flood of addresses: forget, never grow
                self._blocked.clear()
            self._blocked[address] = self._seconds() + budget.retry_after
        return budget

    def _seconds(self) -> float:
        """The clock a block is timed on: the decisions' own when pinned (tests), so a block
        lasts exactly as long as the refused budget says however slowly a test runs."""
        return self.clock() / 1_000_000 if self.clock is not None else time.monotonic()

    def health(self) -> str:
        return self.backend.health()

    async def aclose(self) -> None:
        await self.backend.aclose()
