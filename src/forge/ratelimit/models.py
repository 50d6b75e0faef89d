"""Operator-set limits for one team or one key, per bucket (`forge admin limits …`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base


class RateLimitOverride(Base):
    __tablename__ = "rate_limit_overrides"
    __table_args__ = (
        CheckConstraint("scope_type IN ('team', 'key')", name="scope_type"),
        CheckConstraint("bucket IN ('read', 'write', 'create')", name="bucket"),
        CheckConstraint('"limit" >= 1', name="limit_positive"),
    )

    # A team id (every key of the team) or a key id (that key; it wins over its team's).
    scope_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(8), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
