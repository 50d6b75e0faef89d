"""Idempotency records: one per (principal, Idempotency-Key), kept 24 hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forge.db import Base


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    # The principal: its team, who acts (a client id, or the team id for a service token) and
    # the mode, so neither another caller nor the other mode ever sees this record.
    team_id: Mapped[str] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(String(4), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    state: Mapped[str] = mapped_column(String(8))  # "running" | "done"
    locked_at: Mapped[datetime]  # when the running request claimed it
    expires_at: Mapped[datetime] = mapped_column(index=True)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The first response's body, with any `data.secret` removed before it is stored.
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
