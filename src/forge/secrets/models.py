"""Secrets of an environment, their encrypted versions, and the master-key check values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class Secret(Base):
    """A key name in one environment. `latest_version` counts the versions ever made (0: none
    yet); the newest version is the value in force. A deleted secret keeps its row (and its
    versions, which deployments may still run) with `deleted_at` set; declaring it again
    revives it. A tombstone is a local entry with no value that stops an inherited one."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sec"))
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(1000), default=None)
    required: Mapped[bool] = mapped_column(default=False)
    tombstone: Mapped[bool] = mapped_column(default=False)
    has_value: Mapped[bool] = mapped_column(default=False)
    latest_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(40), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class SecretVersion(Base):
    """One value of a secret, sealed (forge.crypto.envelope): never stored in the clear."""

    __tablename__ = "secret_versions"
    __table_args__ = (
        UniqueConstraint("secret_id", "version"),
        Index("ix_secret_versions_master_key_id_id", "master_key_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("secv"))
    secret_id: Mapped[str] = mapped_column(ForeignKey("secrets.id", ondelete="CASCADE"))
    version: Mapped[int]
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(40))
    master_key_id: Mapped[str] = mapped_column(String(40))
    restored_from: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)


class MasterKeyCheck(Base):
    """A known value wrapped by each master key that ever wrapped data keys here: start-up
    unwraps it to prove the configured key is the right one before serving anything."""

    __tablename__ = "master_key_checks"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    check_value: Mapped[bytes] = mapped_column(LargeBinary(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
