"""Deployments of an environment and the secret versions each one runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_environment_id_id", "environment_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dep"))
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    origin_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)


class DeploymentSecret(Base):
    """The snapshot: which version of which effective key the deployment runs, and from where."""

    __tablename__ = "deployment_secrets"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("secret_versions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    source_environment_id: Mapped[str] = mapped_column(String(40))
