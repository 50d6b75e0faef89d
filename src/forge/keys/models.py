"""API keys and their secrets. Only SHA-256 hashes of secrets are ever stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class ApiKey(Base):
    __tablename__ = "api_keys"
    # The expiry sweep reads only keys whose expiry is not yet handled (forge.keys.expiry).
    __table_args__ = (Index("ix_api_keys_expiry_pending", "expiry_recorded_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    # owner_type "client": a personal key (mfk_) acting as client_id; "team": a service token (mfs_)
    owner_type: Mapped[str] = mapped_column(String(8))
    client_id: Mapped[str | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), default=None, index=True
    )
    mode: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    resource_type: Mapped[str | None] = mapped_column(String(16), default=None)
    resource_id: Mapped[str | None] = mapped_column(String(40), default=None)
    ip_allowlist: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set once, by whichever process first records the key's `key.expired` audit event.
    expiry_recorded_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeySecret(Base):
    """One secret of a key: the current one, or a previous one alive in its roll grace window."""

    __tablename__ = "key_secrets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ks"))
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while current; a previous secret stops at expires_at (end of its grace window).
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_ip: Mapped[str | None] = mapped_column(String(45), default=None)
