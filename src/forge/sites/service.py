"""Sites and environments: visibility, creation, changes. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, select, update
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.db import unique_guard
from forge.driver import DriverSQL, Reads, as_datetime
from forge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from forge.principal import Principal
from forge.sites.models import Environment, EnvironmentHostname, Site
from forge.sites.schemas import EnvironmentCreate, EnvironmentUpdate, SiteCreate, SiteUpdate
from forge.tenancy import service as tenancy


def visible_sites(principal: Principal) -> Select[Site]:
    stmt = select(Site).where(Site.team_id == principal.team_id, Site.mode == principal.mode)
    constraint = principal.constraint
    if constraint is None or constraint.type == "team":
        return stmt
    if constraint.type == "project":
        return stmt.where(Site.project_id == constraint.id)
    if constraint.type == "site":
        return stmt.where(Site.id == constraint.id)
    return stmt.where(false())


_SITE_BY_ID = DriverSQL(
    "SELECT id, team_id, project_id, slug, name, mode, created_at, updated_at"
    " FROM sites WHERE id = ?"
)


@dataclass(frozen=True)
class SiteSnapshot:
    """A site as read on the fast path: read-only; writes load the row in their transaction."""

    id: str
    team_id: str
    project_id: str
    slug: str
    name: str
    mode: str
    created_at: datetime
    updated_at: datetime


SiteLike = Site | SiteSnapshot


def _in_team_and_mode(site: SiteLike | None, principal: Principal) -> bool:
    return site is not None and site.team_id == principal.team_id and site.mode == principal.mode


def _site_of_row(row: Any) -> SiteSnapshot:
    """The site columns of a row laid out as `_SITE_BY_ID`'s."""
    return SiteSnapshot(
        id=row[0],
        team_id=row[1],
        project_id=row[2],
        slug=row[3],
        name=row[4],
        mode=row[5],
        created_at=as_datetime(row[6]) or utcnow(),
        updated_at=as_datetime(row[7]) or utcnow(),
    )


def site_snapshot(reads: Reads, principal: Principal, site_id: str) -> SiteSnapshot:
    """The site as it is now, if the key's team and mode can see it (else 404)."""
    row = reads.fetch_one(_SITE_BY_ID, (site_id,))
    site = _site_of_row(row) if row is not None else None
    if site is None or not _in_team_and_mode(site, principal):
        raise NotFound(f"No site {site_id!r}.", param="site")
    return site


_ENV_SITE = DriverSQL("SELECT site_id FROM environments WHERE id = ?")


def can_reach_into(reads: Reads, principal: Principal, site: SiteLike) -> bool:
    """A site is a container the key may reach into when the key covers the site or is
    pinned to one of its environments."""
    constraint = principal.constraint
    if constraint is not None and constraint.type == "environment":
        row = reads.fetch_one(_ENV_SITE, (constraint.id,))
        return row is not None and row[0] == site.id
    return covers_site(principal, site)


def covers_site(principal: Principal, site: SiteLike) -> bool:
    return principal.covers(team_id=site.team_id, project_id=site.project_id, site_id=site.id)


def site_for_update(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id, with_for_update=True)
    if site is None:
        raise NotFound(f"No site {site_id!r}.", param="site")
    return site


def create_site(session: Session, principal: Principal, body: SiteCreate) -> Site:
    if body.project is None:
        project = tenancy.default_project(session, principal.team_id)
    else:
        project = tenancy.get_project(session, principal, body.project)
    if not principal.covers(team_id=project.team_id, project_id=project.id):
        raise Forbidden("This key's resource constraint does not allow creating sites here.")
    site = Site(
        team_id=principal.team_id,
        project_id=project.id,
        slug=body.slug,
        name=body.name or body.slug,
        mode=principal.mode,
    )
    with unique_guard(session, f"A site with slug {body.slug!r} already exists.", "slug"):
        session.add(site)
    return site


def update_site(session: Session, site_id: str, body: SiteUpdate) -> Site:
    site = site_for_update(session, site_id)
    with unique_guard(session, f"A site with slug {body.slug!r} already exists.", "slug"):
        if body.slug is not None:
            site.slug = body.slug
        if body.name is not None:
            site.name = body.name
        site.updated_at = utcnow()
    return site


def delete_site(session: Session, site_id: str) -> None:
    site = site_for_update(session, site_id)
    # Parent links are cleared first so the cascade never trips over RESTRICT between siblings.
    session.execute(
        update(Environment).where(Environment.site_id == site.id).values(parent_id=None)
    )
    session.delete(site)
    session.flush()


def visible_environments(principal: Principal, site: SiteLike) -> Select[Environment]:
    stmt = select(Environment).where(Environment.site_id == site.id)
    constraint = principal.constraint
    if constraint is not None and constraint.type == "environment":
        return stmt.where(Environment.id == constraint.id)
    return stmt


_ENVIRONMENT_BY_ID = DriverSQL(
    "SELECT e.id, e.site_id, e.name, e.parent_id, e.origin_url, e.cache_default_ttl,"
    " e.cache_max_object_bytes, e.created_at, e.updated_at,"
    " s.id, s.team_id, s.project_id, s.slug, s.name, s.mode, s.created_at, s.updated_at,"
    " h.hostname"
    " FROM environments e JOIN sites s ON s.id = e.site_id"
    " LEFT JOIN environment_hostnames h ON h.environment_id = e.id"
    " WHERE e.id = ? ORDER BY h.hostname"
)


@dataclass(frozen=True)
class EnvironmentSnapshot:
    """An environment (and its site) as read on the fast path: read-only; a route that changes
    the environment loads its row in the unit of work (`environment_row`)."""

    id: str
    site_id: str
    name: str
    parent_id: str | None
    origin_url: str | None
    cache_default_ttl: int
    cache_max_object_bytes: int
    created_at: datetime
    updated_at: datetime
    site: SiteSnapshot
    hostnames: tuple[str, ...]

    @property
    def mode(self) -> str:
        return self.site.mode


EnvironmentLike = Environment | EnvironmentSnapshot


def _environment_of_rows(rows: list[Any]) -> EnvironmentSnapshot:
    """One row per hostname (or one with none): `_ENVIRONMENT_BY_ID`'s."""
    row = rows[0]
    return EnvironmentSnapshot(
        id=row[0],
        site_id=row[1],
        name=row[2],
        parent_id=row[3],
        origin_url=row[4],
        cache_default_ttl=row[5],
        cache_max_object_bytes=row[6],
        created_at=as_datetime(row[7]) or utcnow(),
        updated_at=as_datetime(row[8]) or utcnow(),
        site=_site_of_row(row[9:17]),
        hostnames=tuple(r[17] for r in rows if r[17] is not None),
    )


def get_environment(
    reads: Reads, principal: Principal, site_id: str, env_id: str
) -> EnvironmentSnapshot:
    """The site is only traversed here: a key pinned to this environment may pass through it.
    The environment is read first, with its site joined: one look-up when both are right
    (the site's own only when the environment is not in it, to tell which 404 applies)."""
    rows = reads.fetch_all(_ENVIRONMENT_BY_ID, (env_id,))
    env = _environment_of_rows(rows) if rows else None
    if env is not None and env.site_id == site_id:
        site: SiteSnapshot | None = env.site
    else:
        found = reads.fetch_one(_SITE_BY_ID, (site_id,))
        site = _site_of_row(found) if found is not None else None
    if site is None or not _in_team_and_mode(site, principal):
        raise NotFound(f"No site {site_id!r}.", param="site")
    if (
        env is None
        or env.site_id != site.id
        or not principal.covers(
            team_id=site.team_id, project_id=site.project_id, site_id=site.id, env_id=env.id
        )
    ):
        raise NotFound(f"No environment {env_id!r} in this site.", param="env")
    return env


def environment_row(session: Session, env: EnvironmentLike) -> Environment:
    """The environment's ORM row in the unit of work, for a route that changes it (or 404 if
    it was deleted since it was resolved)."""
    row = session.get(Environment, env.id)
    if row is None:
        raise NotFound(f"No environment {env.id!r} in this site.", param="env")
    return row


def _parent_in_site(session: Session, site: SiteLike, parent_id: str) -> Environment:
    parent = session.get(Environment, parent_id)
    if parent is None or parent.site_id != site.id:
        raise ValidationFailed("parent must be an environment of the same site.", param="parent")
    return parent


def _refuse_cycle(session: Session, env: Environment, parent: Environment) -> None:
    seen = {env.id}
    node: Environment | None = parent
    while node is not None:
        if node.id in seen:
            raise ValidationFailed(
                "parent would make a cycle of environments inheriting from each other.",
                param="parent",
            )
        seen.add(node.id)
        node = session.get(Environment, node.parent_id) if node.parent_id else None


def _set_hostnames(session: Session, env: Environment, hostnames: list[str]) -> None:
    taken = session.scalars(
        select(EnvironmentHostname.hostname).where(
            EnvironmentHostname.hostname.in_(hostnames),
            EnvironmentHostname.environment_id != env.id,
        )
    ).all()
    if taken:
        raise Conflict(f"Hostname {taken[0]!r} is not available.", param="hostnames")
    env.hostname_rows = [EnvironmentHostname(hostname=h) for h in sorted(set(hostnames))]


def create_environment(
    session: Session, principal: Principal, site: SiteLike, body: EnvironmentCreate
) -> Environment:
    if not covers_site(principal, site):
        raise Forbidden("This key's resource constraint does not allow creating environments here.")
    parent = _parent_in_site(session, site, body.parent) if body.parent else None
    env = Environment(
        site_id=site.id,
        name=body.name,
        parent_id=parent.id if parent else None,
        origin_url=body.origin_url,
    )
    with unique_guard(session, f"An environment named {body.name!r} already exists here.", "name"):
        session.add(env)
    with unique_guard(session, "One of these hostnames was just claimed elsewhere.", "hostnames"):
        _set_hostnames(session, env, body.hostnames)
    return env


def update_environment(
    session: Session, site: SiteLike, env: Environment, body: EnvironmentUpdate
) -> Environment:
    given = body.model_fields_set
    with unique_guard(session, f"An environment named {body.name!r} already exists here.", "name"):
        if "name" in given and body.name is not None:
            env.name = body.name
        if "parent" in given:
            if body.parent is None:
                env.parent_id = None
            else:
                parent = _parent_in_site(session, site, body.parent)
                _refuse_cycle(session, env, parent)
                env.parent_id = parent.id
        if "origin_url" in given:
            env.origin_url = body.origin_url
        env.updated_at = utcnow()
    if "hostnames" in given:
        with unique_guard(
            session, "One of these hostnames was just claimed elsewhere.", "hostnames"
        ):
            _set_hostnames(session, env, body.hostnames or [])
    return env


def delete_environment(session: Session, env: Environment) -> None:
    child = session.scalar(select(Environment.name).where(Environment.parent_id == env.id).limit(1))
    if child is not None:
        raise Conflict(f"Environment {child!r} inherits from this one; change its parent first.")
    session.delete(env)
    session.flush()


_TEAM_SLUG = DriverSQL("SELECT slug FROM teams WHERE id = ?")
_SITE_BY_SLUG = DriverSQL("SELECT id FROM sites WHERE team_id = ? AND mode = ? AND slug = ?")
_ENV_BY_NAME = DriverSQL("SELECT id FROM environments WHERE site_id = ? AND name = ?")


def environment_by_names(
    reads: Reads,
    principal: Principal,
    names: tuple[str, str, str],
    params: tuple[str, str, str],
) -> EnvironmentSnapshot:
    """An environment named by (team slug, site slug, environment name), looked up only
    inside the key's own team and mode (and constraint): a name anywhere else is simply not
    found (404 naming `params`' field). Used by the team/site/env path surface (secrets) and
    the clear-cache surface."""
    team_slug, site_slug, env_name = names
    team = reads.fetch_one(_TEAM_SLUG, (principal.team_id,))
    if team is None or team[0] != team_slug:
        raise NotFound(f"No team {team_slug!r}.", param=params[0])
    site = reads.fetch_one(_SITE_BY_SLUG, (principal.team_id, principal.mode, site_slug))
    if site is None:
        raise NotFound(f"No site {site_slug!r}.", param=params[1])
    env = reads.fetch_one(_ENV_BY_NAME, (site[0], env_name))
    if env is None:
        raise NotFound(f"No environment {env_name!r}.", param=params[2])
    try:
        return get_environment(reads, principal, site[0], env[0])
    except NotFound:
        raise NotFound(f"No environment {env_name!r}.", param=params[2]) from None
