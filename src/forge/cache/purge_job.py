"""The `cache.purge` job: succeeds once every live edge has applied the purge, and proves it.

The purge itself was appended to the log (with its sequence number) in the transaction that
created this job; edges apply the log on their own and write one `edge_purge_results` row
each. This handler only waits for those rows (woken by `cache.purge_applied`, with a short
poll as the fallback for edges in other processes on SQLite) and reports them, so it is safe
to repeat after a takeover. Its one write, `edge.lost` audit events, is committed together
with `succeeded`.

- Required: every live edge that was already running when the purge was appended (one that
  started later cannot hold anything the purge names). With no live edge at all the job
  succeeds at once with an empty `edges` list.
- An edge that stops heartbeating while the job waits is reported in `edges_down`: it applies
  every purge it missed before it serves from its cache again.
- A live edge that has not applied the purge within FORGE_PURGE_TIMEOUT_SECONDS (30) fails
  the job with an error naming it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.audit.models import AuditEvent
from forge.cache.edges import current_edges
from forge.cache.models import CachePurge, Edge, EdgePurgeResult
from forge.cache.service import PURGE_JOB_TYPE
from forge.clock import utcnow
from forge.jobs.registry import JobFailed, JobRun, JobType, Outcome
from forge.notify import PURGE_APPLIED

FALLBACK_POLL_SECONDS = 0.25


def _moment(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Progress:
    applied: list[dict[str, Any]]
    waiting_for: list[dict[str, Any]]
    down: list[dict[str, Any]]


def _edge_brief(edge: Edge) -> dict[str, Any]:
    return {
        "edge": edge.id,
        "name": edge.name,
        "applied_seq": edge.applied_seq,
        "heartbeat_at": _moment(edge.heartbeat_at),
    }


def progress(session: Session, purge: CachePurge, lease: timedelta, now: datetime) -> Progress:
    results = {
        row.edge_id: row
        for row in session.scalars(
            select(EdgePurgeResult).where(EdgePurgeResult.purge_seq == purge.seq)
        )
    }
    names: dict[str, str] = {
        edge_id: name
        for edge_id, name in session.execute(
            select(Edge.id, Edge.name).where(Edge.id.in_(list(results)))
        )
    }
    edges = current_edges(session, now, lease)
    applied = [
        {
            "edge": row.edge_id,
            "name": names.get(row.edge_id),
            "applied_at": _moment(row.applied_at),
            "matched": row.matched,
            "evicted": row.evicted,
            "marked_stale": row.marked_stale,
        }
        for row in sorted(results.values(), key=lambda r: (names.get(r.edge_id) or "", r.edge_id))
    ]
    waiting = [
        _edge_brief(edge)
        for edge in edges.live
        if edge.id not in results and edge.started_at <= purge.created_at
    ]
    down = [_edge_brief(edge) for edge in edges.down if edge.id not in results]
    return Progress(applied=applied, waiting_for=waiting, down=down)


def _result(purge: CachePurge, done: Progress) -> dict[str, Any]:
    return {
        "purge": {"seq": purge.seq, "selector": purge.selector, "dry_run": purge.dry_run},
        "edges": done.applied,
        "totals": {
            "edges": len(done.applied),
            **{
                field: sum(int(e[field]) for e in done.applied)
                for field in ("matched", "evicted", "marked_stale")
            },
        },
        "edges_down": done.down,
    }


def _record_lost_edges(run: JobRun, down: list[dict[str, Any]]) -> Any:
    """`edge.lost` once per loss (per team): not again while the edge stays down."""

    def effects(session: Session) -> None:
        for edge in down:
            last_heartbeat = datetime.fromisoformat(edge["heartbeat_at"].replace("Z", "+00:00"))
            already = session.scalar(
                select(AuditEvent.id).where(
                    AuditEvent.team_id == run.team_id,
                    AuditEvent.action == "edge.lost",
                    AuditEvent.resource_id == edge["edge"],
                    AuditEvent.created_at >= last_heartbeat,
                )
            )
            if already is None:
                audit.record(
                    session,
                    team_id=run.team_id,
                    action="edge.lost",
                    actor=None,
                    system=audit.SYSTEM_FORGE,
                    mode=run.mode,
                    resource_type="edge",
                    resource_id=edge["edge"],
                    data={"name": edge["name"], "last_heartbeat_at": edge["heartbeat_at"]},
                )

    return effects


def _check(run: JobRun, purge: CachePurge | None) -> tuple[CachePurge, Progress]:
    """The job's purge (loaded on the first check) and how far the edges are with it."""
    lease = timedelta(seconds=run.settings.edge_lease_seconds)
    with run.database.read_only() as session:
        if purge is None:
            purge = session.scalar(select(CachePurge).where(CachePurge.job_id == run.job_id))
        if purge is None:
            raise JobFailed("purge_missing", "This job's purge is no longer in the purge log.")
        return purge, progress(session, purge, lease, utcnow())


async def run_purge(run: JobRun) -> Outcome:
    timeout = run.settings.purge_timeout_seconds
    deadline = time.monotonic() + timeout
    loaded: CachePurge | None = None
    with run.notifier.listen(PURGE_APPLIED) as applied:
        while True:
            # Listening first, then reading: an edge's result committed in between is heard.
            purge, now = await asyncio.to_thread(_check, run, loaded)
            loaded = purge
            if not now.waiting_for:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                names = ", ".join(f"{e['edge']} ({e['name']})" for e in now.waiting_for)
                raise JobFailed(
                    "edges_not_applied",
                    f"Purge {purge.seq} was not applied within {timeout} s by live edge(s) "
                    f"{names}.",
                    edges=now.waiting_for,
                    applied=now.applied,
                )
            await applied.wait(min(remaining, FALLBACK_POLL_SECONDS))
    return Outcome(result=_result(purge, now), effects=_record_lost_edges(run, now.down))


def _newest_purge_job() -> Any:
    # The newest purge stays in the log even past retention: on SQLite its sequence number
    # would otherwise be handed out again, and edges skip what they think they applied.
    return select(CachePurge.job_id).order_by(CachePurge.seq.desc()).limit(1)


PURGE_JOB = JobType(
    name=PURGE_JOB_TYPE,
    run=run_purge,
    guarantee="effects-with-success",
    retained=_newest_purge_job,
)
