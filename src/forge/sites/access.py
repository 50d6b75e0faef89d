"""Resolvers that load a route's `{site}` / `{env}` path resources for `Scoped`, or 404."""

from __future__ import annotations

from forge.http.auth import Access
from forge.sites import service
from forge.sites.models import Environment, Site


def site_resolver(access: Access, params: dict[str, str]) -> None:
    access.resources["site"] = service.get_site(access.session, access.principal, params["site"])


def site_container_resolver(access: Access, params: dict[str, str]) -> None:
    """For routes under a site that list or create its environments."""
    access.resources["site"] = service.site_in_team_and_mode(
        access.session, access.principal, params["site"]
    )


def environment_resolver(access: Access, params: dict[str, str]) -> None:
    env = service.get_environment(access.session, access.principal, params["site"], params["env"])
    access.resources["site"] = env.site
    access.resources["environment"] = env


def site_of(access: Access) -> Site:
    site: Site = access.resources["site"]
    return site


def environment_of(access: Access) -> Environment:
    env: Environment = access.resources["environment"]
    return env
