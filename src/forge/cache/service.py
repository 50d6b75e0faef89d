"""Cache rules: purges appended to the log with their job, configuration, and state.
No HTTP; never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.cache.edges import current_edges
from forge.cache.models import CachePurge, Edge
from forge.cache.schemas import (
    ByType,
    CacheConfig,
    CacheOut,
    CacheState,
    CacheUpdate,
    EdgeOut,
    LastPurge,
    TagCount,
)
from forge.clock import utcnow
from forge.jobs import service as jobs
from forge.jobs.models import Job
from forge.notify import CONFIG_CHANGED, JOB_QUEUED, PURGE_APPENDED, Notifier, publish_after_commit
from forge.principal import Principal
from forge.sites.models import Environment
from forge.sites.service import EnvironmentLike

PURGE_JOB_TYPE = "cache.purge"
PURGE_MAX_ATTEMPTS = 3
TOP_TAGS = 20


def selector(
    type: str = "all",
    tags: list[str] | None = None,
    paths: list[str] | None = None,
    cache_hashes: list[str] | None = None,
    mode: str = "hard",
) -> dict[str, Any]:
    """The purge log's selector: every key present; all lists empty = everything of `type`."""
    return {
        "type": type,
        "tags": list(tags or []),
        "paths": list(paths or []),
        "cache_hashes": list(cache_hashes or []),
        "mode": mode,
    }


def request_purge(
    session: Session,
    notifier: Notifier,
    principal: Principal,
    env: EnvironmentLike,
    chosen: dict[str, Any],
    dry_run: bool = False,
) -> Job:
    """Append the purge to the log and create its job, in the caller's one transaction."""
    job = jobs.enqueue(
        session,
        type=PURGE_JOB_TYPE,
        team_id=env.site.team_id,
        mode=env.mode,
        resource=("environment", env.id),
        payload={"selector": chosen, "dry_run": dry_run},
        created_by=principal.key_id,
        max_attempts=PURGE_MAX_ATTEMPTS,
    )
    purge = CachePurge(job_id=job.id, environment_id=env.id, selector=chosen, dry_run=dry_run)
    session.add(purge)
    session.flush()
    audit.record(
        session,
        team_id=env.site.team_id,
        action="cache.purged",
        actor=principal,
        resource_type="environment",
        resource_id=env.id,
        data={"job": job.id, "seq": purge.seq, "selector": chosen, "dry_run": dry_run},
    )
    publish_after_commit(session, notifier, PURGE_APPENDED, str(purge.seq))
    publish_after_commit(session, notifier, JOB_QUEUED, job.id)
    return job


def update_config(
    session: Session, notifier: Notifier, principal: Principal, env: Environment, body: CacheUpdate
) -> Environment:
    changed: dict[str, int] = {}
    if body.default_ttl is not None:
        env.cache_default_ttl = changed["default_ttl"] = body.default_ttl
    if body.max_object_bytes is not None:
        env.cache_max_object_bytes = changed["max_object_bytes"] = body.max_object_bytes
    if changed:
        env.updated_at = utcnow()
        audit.record(
            session,
            team_id=env.site.team_id,
            action="cache.updated",
            actor=principal,
            resource_type="environment",
            resource_id=env.id,
            data=changed,
        )
        publish_after_commit(session, notifier, CONFIG_CHANGED, env.id)
    return env


def _env_stats(edge: Edge, env_id: str) -> dict[str, Any]:
    environments = edge.stats.get("environments") if isinstance(edge.stats, dict) else None
    found = environments.get(env_id) if isinstance(environments, dict) else None
    return found if isinstance(found, dict) else {}


def _by_type(counts: list[dict[str, Any]]) -> ByType:
    page = sum(int(c.get("page", 0)) for c in counts)
    obj = sum(int(c.get("object", 0)) for c in counts)
    return ByType(page=page, object=obj, total=page + obj)


def aggregate_state(edges: list[Edge], env_id: str) -> CacheState:
    stats = [_env_stats(edge, env_id) for edge in edges]
    hits = sum(int(s.get("hits", 0)) for s in stats)
    misses = sum(int(s.get("misses", 0)) for s in stats)
    tags: dict[str, int] = {}
    for s in stats:
        for item in s.get("top_tags", []):
            tags[str(item["tag"])] = tags.get(str(item["tag"]), 0) + int(item["entries"])
    top = sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS]
    return CacheState(
        entries=_by_type([s.get("entries", {}) for s in stats]),
        bytes=_by_type([s.get("bytes", {}) for s in stats]),
        hits=hits,
        misses=misses,
        hit_ratio=round(hits / (hits + misses), 4) if hits + misses else None,
        top_tags=[TagCount(tag=tag, entries=count) for tag, count in top],
        edges_reporting=len(edges),
    )


def _last_purge(session: Session, env_id: str) -> LastPurge | None:
    row = session.execute(
        select(CachePurge, Job.status)
        .join(Job, Job.id == CachePurge.job_id)
        .where(CachePurge.environment_id == env_id)
        .order_by(CachePurge.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    purge, status = row
    return LastPurge(
        job=purge.job_id,
        status=status,
        seq=purge.seq,
        created_at=purge.created_at,
        selector=purge.selector,
        dry_run=purge.dry_run,
    )


def _edge_out(edge: Edge, status: str) -> EdgeOut:
    return EdgeOut(
        id=edge.id,
        name=edge.name,
        address=edge.address,
        status=status,
        applied_seq=edge.applied_seq,
        heartbeat_at=edge.heartbeat_at,
        started_at=edge.started_at,
    )


def cache_of(
    session: Session, env: EnvironmentLike, edge_lease: timedelta, now: datetime
) -> CacheOut:
    edges = current_edges(session, now, edge_lease)
    return CacheOut(
        environment=env.id,
        config=CacheConfig(
            default_ttl=env.cache_default_ttl, max_object_bytes=env.cache_max_object_bytes
        ),
        state=aggregate_state(edges.live, env.id),
        last_purge=_last_purge(session, env.id),
        edges=[_edge_out(e, "live") for e in edges.live]
        + [_edge_out(e, "down") for e in edges.down],
    )
