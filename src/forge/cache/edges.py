"""Which edges are live, and which are down: read by the purge job and the cache state.

An edge is live while `stopped_at` is null and its heartbeat is younger than the lease
(FORGE_EDGE_LEASE_SECONDS). One that stopped heartbeating without saying so (killed, frozen,
cut off) is down; down edges are reported for a day after their last heartbeat, then forgotten
(an edge that comes back applies the purge log before serving from its cache again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.cache.models import Edge

REPORTED_DOWN_FOR = timedelta(days=1)


@dataclass(frozen=True)
class EdgeSet:
    live: list[Edge]
    down: list[Edge]


def current_edges(session: Session, now: datetime, lease: timedelta) -> EdgeSet:
    rows = session.scalars(
        select(Edge)
        .where(Edge.stopped_at.is_(None), Edge.heartbeat_at >= now - REPORTED_DOWN_FOR)
        .order_by(Edge.name, Edge.id)
    ).all()
    live = [edge for edge in rows if edge.heartbeat_at >= now - lease]
    down = [edge for edge in rows if edge.heartbeat_at < now - lease]
    return EdgeSet(live=live, down=down)
