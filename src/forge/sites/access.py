"""Resolvers that load a route's `{site}` / `{env}` path resources into `Access`, or 404."""

from __future__ import annotations

from collections.abc import Mapping

from forge.errors import NotFound
from forge.http.auth import Access, resolves
from forge.sites import service
from forge.sites.models import Environment
from forge.sites.service import EnvironmentLike, SiteLike


@resolves("site")
def site_resolver(access: Access, params: Mapping[str, str]) -> None:
    site = service.site_snapshot(access.reads, access.principal, params["site"])
    if not service.covers_site(access.principal, site):
        raise NotFound(f"No site {site.id!r}.", param="site")
    access.site = site


@resolves("site")
def site_container_resolver(access: Access, params: Mapping[str, str]) -> None:
    """For routes that list or create a site's environments: a key pinned to one of them
    passes through the site without the site itself being inside its constraint."""
    site = service.site_snapshot(access.reads, access.principal, params["site"])
    if not service.can_reach_into(access.reads, access.principal, site):
        raise NotFound(f"No site {site.id!r}.", param="site")
    access.site = site


@resolves("site", "env")
def environment_resolver(access: Access, params: Mapping[str, str]) -> None:
    access.environment = service.get_environment(
        access.reads, access.principal, params["site"], params["env"]
    )


def site_of(access: Access) -> SiteLike:
    return access.site


def environment_of(access: Access) -> EnvironmentLike:
    return access.environment


def environment_row_of(access: Access) -> Environment:
    """The environment's ORM row in the request's unit of work, for routes that change it."""
    return service.environment_row(access.session, access.environment)
