"""Resolvers that load a route's `{site}` / `{env}` path resources for `Scoped`, or 404."""

from __future__ import annotations

from forge.errors import NotFound
from forge.http.auth import Access
from forge.sites import service
from forge.sites.models import Environment
from forge.sites.service import SiteLike


def site_resolver(access: Access, params: dict[str, str]) -> None:
    site = service.site_snapshot(access.database.reader, access.principal, params["site"])
    if not service.covers_site(access.principal, site):
        raise NotFound(f"No site {site.id!r}.", param="site")
    access.resources["site"] = site


def site_container_resolver(access: Access, params: dict[str, str]) -> None:
    """For routes that list or create a site's environments: a key pinned to one of them
    passes through the site without the site itself being inside its constraint."""
    reader = access.database.reader
    site = service.site_snapshot(reader, access.principal, params["site"])
    if not service.can_reach_into(reader, access.principal, site):
        raise NotFound(f"No site {site.id!r}.", param="site")
    access.resources["site"] = site


def environment_resolver(access: Access, params: dict[str, str]) -> None:
    env = service.get_environment(access.session, access.principal, params["site"], params["env"])
    access.resources["site"] = env.site
    access.resources["environment"] = env


def site_of(access: Access) -> SiteLike:
    site: SiteLike = access.resources["site"]
    return site


def environment_of(access: Access) -> Environment:
    env: Environment = access.resources["environment"]
    return env
