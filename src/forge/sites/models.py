"""Sites and their environments (with the hostnames the edge serves for them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class Site(Base):
    __tablename__ = "sites"
    # Site slugs are unique per team and mode (stricter than per project) so that the
    # team/site/env paths `/{team}/{site}/…` name exactly one site for a key; per mode, so a
    # test key cannot learn a live site's slug from a 409.
    __table_args__ = (UniqueConstraint("team_id", "mode", "slug"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("site"))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    slug: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Environment(Base):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("env"))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("environments.id", ondelete="RESTRICT"), default=None, index=True
    )
    origin_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # Edge cache settings: seconds to keep a response that has no caching headers (0: none is
    # cached without them) and the largest body the edge stores (larger ones stream through).
    cache_default_ttl: Mapped[int] = mapped_column(Integer, default=0)
    cache_max_object_bytes: Mapped[int] = mapped_column(Integer, default=8 * 1024 * 1024)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(lazy="joined")
    hostname_rows: Mapped[list[EnvironmentHostname]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="EnvironmentHostname.hostname"
    )

    @property
    def mode(self) -> str:
        return self.site.mode

    @property
    def hostnames(self) -> list[str]:
        return [row.hostname for row in self.hostname_rows]


class EnvironmentHostname(Base):
    """A hostname belongs to one environment platform-wide: the edge routes by it."""

    __tablename__ = "environment_hostnames"

    hostname: Mapped[str] = mapped_column(String(253), primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
