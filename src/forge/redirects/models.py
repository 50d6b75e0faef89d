"""Redirect rule sets: every version of an environment's set, and which one is in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class RedirectSet(Base):
    """The version in force for an environment (version 0: the empty set, never written)."""

    __tablename__ = "redirect_sets"

    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(40), default=None)


class RedirectVersion(Base):
    """One whole rule set as written. `rules` is the set's JSON array exactly as the API
    answers it (UTF-8), so a read streams it out without parsing or re-encoding."""

    __tablename__ = "redirect_versions"
    __table_args__ = (UniqueConstraint("environment_id", "version"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rdv"))
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    version: Mapped[int]
    rules: Mapped[bytes] = mapped_column(LargeBinary)
    rule_count: Mapped[int]
    restored_from: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)
