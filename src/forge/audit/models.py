"""The audit log: who did what to which resource, never a secret or a value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_team_created", "team_id", "created_at"),
        Index("ix_audit_events_key_prefix_created", "key_prefix", "created_at"),
        Index("ix_audit_events_team_action_created", "team_id", "action", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("evt"))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64))
    # The mode of the key or resource the event is about: a test key never sees live events.
    mode: Mapped[str | None] = mapped_column(String(4), default=None)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    key_id: Mapped[str | None] = mapped_column(String(40), default=None)
    key_prefix: Mapped[str | None] = mapped_column(String(32), default=None)
    resource_type: Mapped[str | None] = mapped_column(String(32), default=None)
    resource_id: Mapped[str | None] = mapped_column(String(40), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
