"""The edge's database work: registering, heartbeats, its configuration, the purge log and the
per-purge proof. Plain synchronous units of work; the edge runs each in a thread."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

import forge.models  # noqa: F401  (every table, so foreign keys resolve in an edge-only process)
from forge.audit import service as audit
from forge.cache.models import CachePurge, Edge, EdgePurgeResult
from forge.clock import utcnow
from forge.db import Database
from forge.edge.config import EdgeConfig, EnvConfig, Redirector
from forge.edge.store import PurgeOutcome, Selector
from forge.redirects import service as redirects
from forge.redirects.engine import CompiledRules
from forge.redirects.models import RedirectSet
from forge.sites.models import Environment, EnvironmentHostname, Site


@dataclass(frozen=True)
class LoggedPurge:
    seq: int
    environment_id: str
    selector: Selector
    dry_run: bool


@dataclass(frozen=True)
class AppliedPurge:
    seq: int
    outcome: PurgeOutcome
    applied_at: datetime


def register(database: Database, name: str, address: str) -> tuple[str, int]:
    """A new edge row (its cache is empty, so every purge logged so far is already true of it)
    and an `edge.registered` event for each team whose hostnames it serves."""
    with database.session() as session:
        applied = session.scalar(select(func.coalesce(func.max(CachePurge.seq), 0))) or 0
        edge = Edge(name=name, address=address, applied_seq=applied, stats={})
        session.add(edge)
        session.flush()
        teams = session.scalars(
            select(Site.team_id)
            .join(Environment, Environment.site_id == Site.id)
            .join(EnvironmentHostname, EnvironmentHostname.environment_id == Environment.id)
            .distinct()
        ).all()
        for team_id in teams:
            audit.record(
                session,
                team_id=team_id,
                action="edge.registered",
                actor=None,
                system=audit.SYSTEM_FORGE,
                resource_type="edge",
                resource_id=edge.id,
                data={"name": name, "address": address},
            )
        return edge.id, applied


def heartbeat(database: Database, edge_id: str, stats: dict[str, Any]) -> None:
    with database.session() as session:
        session.execute(
            update(Edge).where(Edge.id == edge_id).values(heartbeat_at=utcnow(), stats=stats)
        )


def mark_stopped(database: Database, edge_id: str) -> None:
    with database.session() as session:
        session.execute(update(Edge).where(Edge.id == edge_id).values(stopped_at=utcnow()))


def load_config(database: Database) -> EdgeConfig:
    with database.session() as session:
        rows = session.execute(
            select(
                EnvironmentHostname.hostname,
                Environment.id,
                Environment.origin_url,
                Environment.cache_default_ttl,
                Environment.cache_max_object_bytes,
            ).join(Environment, Environment.id == EnvironmentHostname.environment_id)
        ).all()
    envs: dict[str, EnvConfig] = {}
    hosts: dict[bytes, EnvConfig] = {}
    for hostname, env_id, origin_url, default_ttl, max_object_bytes in rows:
        env = envs.get(env_id)
        if env is None:
            env = envs[env_id] = EnvConfig(
                id=env_id,
                origin_url=origin_url,
                default_ttl=default_ttl,
                max_object_bytes=max_object_bytes,
            )
        hosts[hostname.encode()] = env
    if envs:
        with database.session() as session:
            rule_sets = redirects.compiled_rule_sets(session, list(envs))
        for env_id, (_version, rules) in rule_sets.items():
            if len(rules):
                envs[env_id] = replace(envs[env_id], redirects=_redirector(rules))
        hosts = {host: envs[env.id] for host, env in hosts.items()}
    return EdgeConfig(hosts=hosts)


def _redirector(rules: CompiledRules) -> Redirector:
    def redirect(path: str, query: str) -> tuple[int, str] | None:
        found = rules.match(path, query)
        return None if found is None else (found.status, found.location)

    return redirect


def config_probe(database: Database) -> tuple[Any, ...]:
    """Cheap to read, and different after any change the edge's configuration depends on."""
    with database.session() as session:
        envs = session.execute(
            select(func.count(), func.max(Environment.updated_at)).select_from(Environment)
        ).one()
        hostnames = session.scalar(select(func.count()).select_from(EnvironmentHostname))
        rule_sets = session.execute(
            select(func.count(), func.max(RedirectSet.updated_at)).select_from(RedirectSet)
        ).one()
    return (*envs, hostnames, *rule_sets)


def read_log(database: Database, after_seq: int, limit: int) -> list[LoggedPurge]:
    with database.session() as session:
        rows = session.execute(
            select(
                CachePurge.seq, CachePurge.environment_id, CachePurge.selector, CachePurge.dry_run
            )
            .where(CachePurge.seq > after_seq)
            .order_by(CachePurge.seq)
            .limit(limit)
        ).all()
    return [
        LoggedPurge(seq, env_id, Selector.from_json(selector or {}), dry_run)
        for seq, env_id, selector, dry_run in rows
    ]


def oldest_seq(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.coalesce(func.min(CachePurge.seq), 0))) or 0


def record_applied(database: Database, edge_id: str, applied: list[AppliedPurge]) -> None:
    """The proof of each purge and the edge's applied sequence, in one transaction."""
    with database.session() as session:
        session.add_all(
            EdgePurgeResult(
                edge_id=edge_id,
                purge_seq=purge.seq,
                matched=purge.outcome.matched,
                evicted=purge.outcome.evicted,
                marked_stale=purge.outcome.marked_stale,
                applied_at=purge.applied_at,
            )
            for purge in applied
        )
        session.execute(
            update(Edge)
            .where(Edge.id == edge_id)
            .values(applied_seq=applied[-1].seq, heartbeat_at=utcnow())
        )
