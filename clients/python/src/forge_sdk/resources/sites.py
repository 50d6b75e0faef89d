"""Sites, their environments, teams and projects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from forge_sdk._endpoints import Call, M, Resource, one, paged
from forge_sdk.resources._common import NOT_GIVEN, fields, present

if TYPE_CHECKING:
    from forge_sdk.models import Deleted, Environment, Project, Site, Team

SITE = "/v1/sites/{site}"


class Sites(Resource[M]):
    @paged("/v1/sites", "Site")
    def list(self, *, limit: int | None = None) -> Call[Site]:
        """Every site the key can see, newest first (`limit` is the page size)."""
        return Call(params={"limit": limit})

    @one("GET", SITE, "Site")
    def get(self, site: str) -> Call[Site]:
        return Call(path={"site": site})

    @one("POST", "/v1/sites", "Site")
    def create(
        self,
        slug: str,
        *,
        name: str | None = None,
        project: str | None = None,
        idempotency_key: str | None = None,
    ) -> Call[Site]:
        """A site in the key's mode, in `project` (the team's default project when omitted)."""
        body = present(slug=slug, name=name, project=project)
        return Call(body=body, idempotency_key=idempotency_key)

    @one("PATCH", SITE, "Site")
    def update(self, site: str, *, slug: Any = NOT_GIVEN, name: Any = NOT_GIVEN) -> Call[Site]:
        return Call(path={"site": site}, body=fields(slug=slug, name=name))

    @one("DELETE", SITE, "Deleted")
    def delete(self, site: str) -> Call[Deleted]:
        """Delete a site and its environments."""
        return Call(path={"site": site})


ENVS = "/v1/sites/{site}/environments"


class Environments(Resource[M]):
    @paged(ENVS, "Environment")
    def list(self, site: str, *, limit: int | None = None) -> Call[Environment]:
        return Call(path={"site": site}, params={"limit": limit})

    @one("GET", ENVS + "/{env}", "Environment")
    def get(self, site: str, env: str) -> Call[Environment]:
        return Call(path={"site": site, "env": env})

    @one("POST", ENVS, "Environment")
    def create(
        self,
        site: str,
        name: str,
        *,
        parent: str | None = None,
        hostnames: Sequence[str] | None = None,
        origin_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Call[Environment]:
        """An environment; `parent` (an environment of this site) lends it its secrets."""
        hosts = None if hostnames is None else list(hostnames)
        body = present(name=name, parent=parent, hostnames=hosts, origin_url=origin_url)
        return Call(path={"site": site}, body=body, idempotency_key=idempotency_key)

    @one("PATCH", ENVS + "/{env}", "Environment")
    def update(
        self,
        site: str,
        env: str,
        *,
        name: Any = NOT_GIVEN,
        parent: Any = NOT_GIVEN,
        hostnames: Any = NOT_GIVEN,
        origin_url: Any = NOT_GIVEN,
    ) -> Call[Environment]:
        """Change only the fields given; `parent=None` detaches it from its parent."""
        body = fields(name=name, parent=parent, hostnames=hostnames, origin_url=origin_url)
        return Call(path={"site": site, "env": env}, body=body)

    @one("DELETE", ENVS + "/{env}", "Deleted")
    def delete(self, site: str, env: str) -> Call[Deleted]:
        return Call(path={"site": site, "env": env})


class Teams(Resource[M]):
    @one("GET", "/v1/teams/{team}", "Team")
    def get(self, team: str) -> Call[Team]:
        return Call(path={"team": team})

    @one("PATCH", "/v1/teams/{team}", "Team")
    def update(self, team: str, *, secret_value_roles: Sequence[str]) -> Call[Team]:
        """Which roles may set secret values (owners only; must include `owner`)."""
        return Call(path={"team": team}, body={"secret_value_roles": list(secret_value_roles)})


class Projects(Resource[M]):
    @paged("/v1/projects", "Project")
    def list(self, *, limit: int | None = None) -> Call[Project]:
        return Call(params={"limit": limit})

    @one("POST", "/v1/projects", "Project")
    def create(
        self, slug: str, *, name: str | None = None, idempotency_key: str | None = None
    ) -> Call[Project]:
        return Call(body=present(slug=slug, name=name), idempotency_key=idempotency_key)
