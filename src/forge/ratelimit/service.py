"""Rate limits: building a process's limiter, operator overrides, and budget reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.config import Settings
from forge.db import Database
from forge.driver import DriverSQL
from forge.errors import NotFound, ValidationFailed
from forge.keys.models import ApiKey
from forge.principal import Principal
from forge.ratelimit.backends import Backend, InProcessBackend, RedisBackend
from forge.ratelimit.limiter import BUCKETS, Budget, OverrideCache, OverrideTable, RateLimiter
from forge.ratelimit.models import RateLimitOverride
from forge.tenancy.models import Team

SCOPE_TYPES = ("team", "key")


def build_limiter(settings: Settings, database: Database) -> RateLimiter:
    backend: Backend = (
        RedisBackend(settings.redis_url, settings.redis_prefix, settings.redis_timeout_seconds)
        if settings.redis_url
        else InProcessBackend()
    )
    return RateLimiter(
        backend,
        defaults={
            "read": settings.ratelimit_read,
            "write": settings.ratelimit_write,
            "create": settings.ratelimit_create,
        },
        window=settings.ratelimit_window,
        overrides=OverrideCache(lambda: load_overrides(database)),
        auth_failures=settings.ratelimit_auth_failures,
    )


async def budgets(app_state: Any, principal: Principal) -> list[Budget]:
    """Every bucket of the principal's key, spending nothing (for `/v1/rate-limits` and
    `/v1/api-keys/self`). `app_state` is the FastAPI `app.state` holding the limiter."""
    limiter: RateLimiter = app_state.limiter
    return [await limiter.peek(principal, bucket) for bucket in BUCKETS]


_ALL_OVERRIDES = DriverSQL('SELECT scope_type, scope_id, bucket, "limit" FROM rate_limit_overrides')


def load_overrides(database: Database) -> OverrideTable:
    """Read on a read-only connection of its own (no SQLite write lock: this runs inside
    requests, which may already hold one)."""
    reads = database.reads()
    try:
        rows = reads.fetch_all(_ALL_OVERRIDES)
    finally:
        reads.close()
    return {(kind, scope_id, bucket): limit for kind, scope_id, bucket, limit in rows}


def _check_target(session: Session, scope_type: str, scope_id: str) -> None:
    if scope_type not in SCOPE_TYPES:
        raise ValidationFailed("scope must be team or key.", param="scope")
    model = Team if scope_type == "team" else ApiKey
    if session.get(model, scope_id) is None:
        raise NotFound(f"No {scope_type} {scope_id!r}.", param=scope_type)


def set_override(
    session: Session, scope_type: str, scope_id: str, bucket: str, limit: int
) -> RateLimitOverride:
    _check_target(session, scope_type, scope_id)
    if bucket not in BUCKETS:
        raise ValidationFailed(f"bucket must be one of {', '.join(BUCKETS)}.", param="bucket")
    if limit < 1:
        raise ValidationFailed("limit must be at least 1.", param="limit")
    override = session.get(RateLimitOverride, (scope_type, scope_id, bucket))
    if override is None:
        override = RateLimitOverride(scope_type=scope_type, scope_id=scope_id, bucket=bucket)
        session.add(override)
    override.limit = limit
    override.updated_at = utcnow()
    session.flush()
    return override


def list_overrides(
    session: Session, scope_type: str | None = None, scope_id: str | None = None
) -> list[RateLimitOverride]:
    stmt = select(RateLimitOverride).order_by(
        RateLimitOverride.scope_type, RateLimitOverride.scope_id, RateLimitOverride.bucket
    )
    if scope_type is not None and scope_id is not None:
        stmt = stmt.where(
            RateLimitOverride.scope_type == scope_type, RateLimitOverride.scope_id == scope_id
        )
    return list(session.scalars(stmt))


def clear_overrides(
    session: Session, scope_type: str, scope_id: str, bucket: str | None = None
) -> int:
    """Remove a target's overrides (one bucket's, or all); returns how many were removed."""
    stmt = delete(RateLimitOverride).where(
        RateLimitOverride.scope_type == scope_type, RateLimitOverride.scope_id == scope_id
    )
    if bucket is not None:
        stmt = stmt.where(RateLimitOverride.bucket == bucket)
    removed: int = session.execute(stmt).rowcount  # type: ignore[attr-defined]
    return removed
