"""`forge init`: the embedded defaults a first run needs, created once and found again after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.keys import scopes
from forge.keys import service as keys
from forge.keys.models import ApiKey, KeySecret
from forge.sites.models import Environment, Site
from forge.tenancy import service as tenancy
from forge.tenancy.models import Client, Project, Team
from forge.tenancy.schemas import TeamCreate

TEAM_SLUG = "my-team"
OWNER_EMAIL = "owner@example.com"
SITE_SLUG = "demo"
ENVIRONMENTS = ("production", "staging")
FIRST_KEY_NAME = "forge-init"


@dataclass
class Bootstrap:
    team: Team
    client: Client
    project: Project
    site: Site
    environments: list[Environment]
    key: ApiKey
    prefix: str
    secret: str | None  # only on the run that minted it

    def as_json(self) -> dict[str, Any]:
        return {
            "team": {"id": self.team.id, "slug": self.team.slug},
            "client": {"id": self.client.id, "email": self.client.email},
            "project": {"id": self.project.id, "slug": self.project.slug},
            "sites": [
                {
                    "id": self.site.id,
                    "slug": self.site.slug,
                    "mode": self.site.mode,
                    "environments": [{"id": e.id, "name": e.name} for e in self.environments],
                }
            ],
            "key": {
                "id": self.key.id,
                "secret": self.secret,
                "prefix": self.prefix + "…",
                "scopes": self.key.scopes,
            },
        }


def _existing(session: Session) -> Bootstrap | None:
    team = session.scalar(select(Team).where(Team.slug == TEAM_SLUG))
    if team is None:
        return None
    key = session.scalar(
        select(ApiKey).where(ApiKey.team_id == team.id, ApiKey.name == FIRST_KEY_NAME)
    )
    client = session.scalar(select(Client).where(Client.email == OWNER_EMAIL))
    site = session.scalar(select(Site).where(Site.team_id == team.id, Site.slug == SITE_SLUG))
    if key is None or client is None or site is None:
        return None
    prefix = session.scalar(
        select(KeySecret.prefix).where(KeySecret.key_id == key.id).order_by(KeySecret.created_at)
    )
    envs = list(session.scalars(select(Environment).where(Environment.site_id == site.id)))
    return Bootstrap(
        team=team,
        client=client,
        project=session.get_one(Project, site.project_id),
        site=site,
        environments=sorted(
            envs,
            key=lambda e: (
                ENVIRONMENTS.index(e.name) if e.name in ENVIRONMENTS else len(ENVIRONMENTS)
            ),
        ),
        key=key,
        prefix=prefix or "",
        secret=None,
    )


def bootstrap(session: Session) -> Bootstrap:
    """Idempotent: a second run finds what the first made and mints nothing."""
    found = _existing(session)
    if found is not None:
        return found
    team = tenancy.create_team(session, TeamCreate(slug=TEAM_SLUG, name="My team"))
    client = tenancy.create_client(session, team.id, OWNER_EMAIL, "owner", name="Owner")
    project = tenancy.default_project(session, team.id)
    site = Site(team_id=team.id, project_id=project.id, slug=SITE_SLUG, name="Demo", mode="test")
    session.add(site)
    session.flush()
    environments = [Environment(site_id=site.id, name=name) for name in ENVIRONMENTS]
    session.add_all(environments)
    session.flush()
    minted = keys.mint(
        session,
        owner=keys.KeyOwner(team_id=team.id, client_id=client.id),
        mode="test",
        name=FIRST_KEY_NAME,
        scopes=sorted(scopes.ALL_SCOPES),
        created_by=None,
    )
    return Bootstrap(
        team=team,
        client=client,
        project=project,
        site=site,
        environments=environments,
        key=minted.key,
        prefix=minted.prefix,
        secret=minted.secret,
    )
