"""Test data made through the services, the way the product makes it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from forge.cache import service as cache
from forge.cache.models import CachePurge, Edge, EdgePurgeResult
from forge.cache.schemas import CacheUpdate
from forge.clock import utcnow
from forge.db import Database
from forge.keys import durations
from forge.keys import scopes as catalogue
from forge.keys import service as keys
from forge.keys.models import ApiKey
from forge.keys.principal import operator_in, resolve
from forge.models import metadata
from forge.notify import LocalHub
from forge.principal import Principal
from forge.sites import service as sites
from forge.sites.models import Environment, Site
from forge.sites.schemas import EnvironmentCreate, SiteCreate
from forge.tenancy import service as tenancy
from forge.tenancy.models import Client, Membership, Project, Team
from forge.tenancy.schemas import ProjectCreate, TeamCreate

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def empty_tables(database: Database) -> None:
    """Every row of every table deleted (the schema stays), children first."""
    with database.engine.begin() as connection:
        for table in metadata.sorted_tables:
            # Rows pointing at rows of their own table (an environment's parent) go first.
            for fk in table.foreign_keys:
                if fk.column.table is table and fk.parent.nullable:
                    connection.execute(table.update().values({fk.parent.name: None}))
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Key:
    id: str
    secret: str
    prefix: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = bearer(self.secret)


@dataclass
class World:
    database: Database

    def team(self, slug: str | None = None) -> Team:
        with self.database.session() as session:
            return tenancy.create_team(
                session, TeamCreate(slug=slug or unique("team"), name="Team")
            )

    def member(self, team: Team, role: str = "owner") -> Client:
        with self.database.session() as session:
            return tenancy.create_client(session, team.id, f"{unique('person')}@example.com", role)

    def key(
        self,
        team: Team,
        client: Client | None = None,
        *,
        mode: str = "test",
        scopes: list[str] | None = None,
        resource: tuple[str, str] | None = None,
        ttl: timedelta = durations.DEFAULT_TTL,
        ip_allowlist: list[str] | None = None,
    ) -> Key:
        with self.database.session() as session:
            minted = keys.mint(
                session,
                owner=keys.KeyOwner(team_id=team.id, client_id=client.id if client else None),
                mode=mode,
                name=unique("key"),
                scopes=self.every_usable_scope(client) if scopes is None else scopes,
                created_by=None,
                ttl=ttl,
                resource=resource,
                ip_allowlist=ip_allowlist,
            )
            return Key(id=minted.key.id, secret=minted.secret, prefix=minted.prefix)

    @staticmethod
    def every_usable_scope(client: Client | None) -> list[str]:
        """Every scope a personal key may hold, or a service token (no owner-only ones)."""
        usable = catalogue.ALL_SCOPES if client else catalogue.TEAM_PRINCIPAL_RIGHTS
        return sorted(usable)

    def owner_key(self, team: Team | None = None, **options: object) -> Key:
        team = team or self.team()
        return self.key(team, self.member(team, "owner"), **options)  # type: ignore[arg-type]

    def role_key(self, team: Team, role: str, **options: object) -> Key:
        """A personal key of a new member with `role`."""
        return self.key(team, self.member(team, role), **options)  # type: ignore[arg-type]

    def service_token(self, team: Team, **options: object) -> Key:
        return self.key(team, None, **options)  # type: ignore[arg-type]

    def site(self, team: Team, *, mode: str = "test", slug: str | None = None) -> Site:
        with self.database.session() as session:
            body = SiteCreate(slug=slug or unique("site"), name="Site")
            return sites.create_site(session, operator_in(team.id, mode), body)

    def environment(
        self,
        site: Site,
        name: str | None = None,
        parent: Environment | None = None,
        origin_url: str | None = None,
        hostnames: tuple[str, ...] = (),
    ) -> Environment:
        body = EnvironmentCreate(
            name=name or unique("env"),
            parent=parent.id if parent else None,
            origin_url=origin_url,
            hostnames=list(hostnames),
        )
        with self.database.session() as session:
            principal = operator_in(site.team_id, site.mode)
            return sites.create_environment(session, principal, site, body)

    def hosted_environment(
        self,
        origin_url: str,
        *,
        hostnames: list[str] | None = None,
        default_ttl: int = 0,
        max_object_bytes: int = 8 * 1024 * 1024,
        team: Team | None = None,
    ) -> Environment:
        """An environment of a new site (of a new team unless given), served by the edge at
        its hostnames."""
        site = self.site(team or self.team())
        names = hostnames or [f"{unique('www')}.example.test"]
        env = self.environment(site, origin_url=origin_url, hostnames=tuple(names))
        changes = {
            field: value
            for field, value, made in (
                ("default_ttl", default_ttl, env.cache_default_ttl),
                ("max_object_bytes", max_object_bytes, env.cache_max_object_bytes),
            )
            if value != made
        }
        with self.database.session() as session:
            env = session.get_one(Environment, env.id)
            if changes:
                principal = operator_in(site.team_id, site.mode)
                cache.update_config(session, LocalHub(), principal, env, CacheUpdate(**changes))
            return env

    def purge(self, env: Environment, dry_run: bool = False, **selector: object) -> int:
        """Append a purge to the log (with its job) through the purge API's service; its
        sequence. Nobody is woken: a test's own hub publishes when it wants an edge to know."""
        chosen = {"type": "all", "mode": "hard", **selector}
        with self.database.session() as session:
            env = session.get_one(Environment, env.id)
            principal = operator_in(env.site.team_id, env.mode)
            job = cache.request_purge(session, LocalHub(), principal, env, chosen, dry_run)
            return session.scalars(select(CachePurge.seq).where(CachePurge.job_id == job.id)).one()

    def service_key(self, team: Team | None = None, **options: object) -> Key:
        """A service token (mfs_): acts as the team itself."""
        return self.key(team or self.team(), None, **options)  # type: ignore[arg-type]

    def project(self, team: Team, slug: str | None = None) -> Project:
        """A project besides the team's default one."""
        with self.database.session() as session:
            body = ProjectCreate(slug=slug or unique("proj"), name="Project")
            return tenancy.create_project(session, operator_in(team.id, "test"), body)

    def set_role(self, team: Team, client: Client, role: str) -> None:
        """Change a member's role in place, the way an admin would (no service changes roles
        yet, so this one writes the row)."""
        with self.database.session() as session:
            session.get_one(Membership, (team.id, client.id)).role = role

    def remove_member(self, team: Team, client: Client) -> None:
        """No service removes members yet, so this one deletes the row."""
        with self.database.session() as session:
            session.delete(session.get_one(Membership, (team.id, client.id)))

    def deactivate(self, client: Client) -> None:
        with self.database.session() as session:
            tenancy.deactivate_client(session, client.id)

    def revoke(self, key: Key) -> None:
        with self.database.session() as session:
            keys.revoke(session, key.id, actor=None)

    def expire(self, key: Key) -> None:
        """Move a key's expiry into the past, as if its TTL had run out (no service moves time,
        so this one writes the row)."""
        with self.database.session() as session:
            session.get_one(ApiKey, key.id).expires_at = utcnow() - timedelta(seconds=1)


def secrets_path(env: Environment, key: str | None = None) -> str:
    """The seed-000 secret routes of an environment (`key`: one secret's)."""
    base = f"/v1/sites/{env.site_id}/environments/{env.id}/secrets"
    return base if key is None else f"{base}/{key}"


@dataclass
class SecretsWorld:
    """A team with an owner key, a test-mode site and a `production` environment, the usual
    starting point of the secret and deployment tests."""

    team: Team
    owner: Key
    site: Site
    env: Environment

    @classmethod
    def make(cls, world: World) -> SecretsWorld:
        team = world.team()
        site = world.site(team)
        env = world.environment(site, "production", origin_url="https://origin.example.com")
        return cls(team=team, owner=world.owner_key(team), site=site, env=env)


def principal_of(database: Database, secret: str) -> Principal:
    """The Principal a request with `secret` would act as."""
    reads = database.reads()
    try:
        return resolve(reads, secret)
    finally:
        reads.close()


def redirects_path(env: Environment, tail: str | None = None) -> str:
    """The seed-000 redirect routes of an environment (`tail`: "versions", "test", …)."""
    base = f"/v1/sites/{env.site_id}/environments/{env.id}/redirects"
    return base if tail is None else f"{base}/{tail}"


def cache_path(env: Environment, tail: str = "") -> str:
    """The environment's cache routes (`tail`: "/purge")."""
    return f"/v1/sites/{env.site_id}/environments/{env.id}/cache{tail}"


@dataclass
class Edges:
    """Edges as the edge processes register them, written straight into their tables: the
    control plane's tests play the edges' part (the edge's own tests run real edges)."""

    database: Database

    def register(
        self,
        name: str | None = None,
        *,
        heartbeat_age: timedelta = timedelta(0),
        started_age: timedelta = timedelta(minutes=1),
        stats: dict[str, object] | None = None,
    ) -> Edge:
        now = utcnow()
        with self.database.session() as session:
            edge = Edge(
                name=name or unique("edge"),
                address="127.0.0.1:8081",
                started_at=now - started_age,
                heartbeat_at=now - heartbeat_age,
                stats=stats or {},
            )
            session.add(edge)
            session.flush()
            return edge

    def heartbeat(self, edge: Edge, age: timedelta = timedelta(0)) -> None:
        with self.database.session() as session:
            session.get_one(Edge, edge.id).heartbeat_at = utcnow() - age

    def apply(
        self, edge: Edge, seq: int, matched: int = 0, evicted: int = 0, marked_stale: int = 0
    ) -> None:
        with self.database.session() as session:
            session.add(
                EdgePurgeResult(
                    edge_id=edge.id,
                    purge_seq=seq,
                    matched=matched,
                    evicted=evicted,
                    marked_stale=marked_stale,
                )
            )
            session.get_one(Edge, edge.id).applied_seq = seq

    def seq_of(self, job_id: str) -> int:
        with self.database.session() as session:
            return session.scalars(select(CachePurge.seq).where(CachePurge.job_id == job_id)).one()
