"""The purge log, the edges that apply it, and what each edge did with each purge.

A purge is appended to `cache_purges` (with a sequence number) in the same transaction that
creates its `cache.purge` job. Every edge registers in `edges`, applies the log in sequence
order, records `applied_seq`, and writes one `edge_purge_results` row per purge: that row is
the per-edge proof a purge job's result reports.

What the control plane reads (forge.cache.purge_job, forge.cache.service):
- An edge is live while `stopped_at` is null and `heartbeat_at` is younger than
  FORGE_EDGE_LEASE_SECONDS (5; edges heartbeat every second). A purge job waits for every live
  edge whose `started_at` is not after the purge's `created_at`; after each purge it applies an
  edge writes its `edge_purge_results` row (dry runs too: matched counted, nothing evicted),
  raises `applied_seq`, commits, then publishes `cache.purge_applied` (message: the seq).
- `Edge.stats`, rewritten with each heartbeat, is the edge's cache state per environment id;
  GET …/cache sums it over the live edges:

      {"environments": {
          "env_…": {
              "entries": {"page": 12, "object": 40},       # entries held now, by type
              "bytes": {"page": 48213, "object": 991002},  # body bytes held now, by type
              "hits": 1520, "misses": 96,                  # since the edge started
              "top_tags": [{"tag": "product-1", "entries": 7}, …]  # ≤ 20, most entries first
          }, …}}

  Missing keys count as 0; an environment the edge holds nothing for may be left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from forge.clock import utcnow
from forge.db import Base
from forge.ids import new_id


class CachePurge(Base):
    __tablename__ = "cache_purges"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    # {"type": "page"|"object"|"all", "tags": [...], "paths": [...], "cache_hashes": [...],
    #  "mode": "hard"|"soft"}; every list empty = everything of `type` in the environment.
    selector: Mapped[dict[str, Any]] = mapped_column(JSON)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Edge(Base):
    __tablename__ = "edges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("edge"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Live while heartbeat_at is within the lease (FORGE_EDGE_LEASE_SECONDS) and not stopped.
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    applied_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The edge's published cache state, per environment id: entries and bytes by type, hits,
    # misses, top tags; refreshed with each heartbeat, read by GET …/cache.
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EdgePurgeResult(Base):
    __tablename__ = "edge_purge_results"

    edge_id: Mapped[str] = mapped_column(
        ForeignKey("edges.id", ondelete="CASCADE"), primary_key=True
    )
    purge_seq: Mapped[int] = mapped_column(
        ForeignKey("cache_purges.seq", ondelete="CASCADE"), primary_key=True, index=True
    )
    matched: Mapped[int] = mapped_column(Integer, default=0)
    evicted: Mapped[int] = mapped_column(Integer, default=0)
    marked_stale: Mapped[int] = mapped_column(Integer, default=0)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
