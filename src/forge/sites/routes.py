"""HTTP routes for sites and environments: parse, authorise, call the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope, ListEnvelope, Page, paginate
from forge.http.routing import ForgeRoute
from forge.jobs.access import AppNotifier
from forge.notify import CONFIG_CHANGED, publish_after_commit
from forge.schemas import Deleted
from forge.sites import service
from forge.sites.access import (
    environment_of,
    environment_resolver,
    environment_row_of,
    site_container_resolver,
    site_of,
    site_resolver,
)
from forge.sites.models import Environment, Site
from forge.sites.schemas import (
    EnvironmentCreate,
    EnvironmentOut,
    EnvironmentUpdate,
    SiteCreate,
    SiteOut,
    SiteUpdate,
)

router = APIRouter(prefix="/v1/sites", tags=["sites"], route_class=ForgeRoute)

SitesRead = Annotated[Access, Scoped("sites:read")]
SitesCreate = Annotated[Access, Scoped("sites:write")]
SiteRead = Annotated[Access, Scoped("sites:read", site_resolver)]
SiteWrite = Annotated[Access, Scoped("sites:write", site_resolver)]
EnvsRead = Annotated[Access, Scoped("environments:read", site_container_resolver)]
EnvsCreate = Annotated[Access, Scoped("environments:write", site_container_resolver)]
EnvRead = Annotated[Access, Scoped("environments:read", environment_resolver)]
EnvWrite = Annotated[Access, Scoped("environments:write", environment_resolver)]


@router.get("", summary="List sites")
def list_sites(access: SitesRead, page: Page) -> ListEnvelope[SiteOut]:
    stmt = service.visible_sites(access.principal)
    rows, has_more = paginate(access.session, stmt, Site.id, page)
    return ListEnvelope(data=[SiteOut.model_validate(r) for r in rows], has_more=has_more)


@router.post("", status_code=201, summary="Create a site")
def create_site(access: SitesCreate, body: SiteCreate) -> Envelope[SiteOut]:
    site = service.create_site(access.session, access.principal, body)
    return Envelope(data=SiteOut.model_validate(site))


@router.get("/{site}", summary="Get a site")
async def get_site(access: SiteRead) -> Envelope[SiteOut]:
    # Renders the site the resolver read, so it runs on the event loop: no worker thread.
    return Envelope(data=SiteOut.model_validate(site_of(access)))


@router.patch("/{site}", summary="Update a site")
def update_site(access: SiteWrite, body: SiteUpdate) -> Envelope[SiteOut]:
    site = service.update_site(access.session, site_of(access).id, body)
    return Envelope(data=SiteOut.model_validate(site))


@router.delete("/{site}", summary="Delete a site and its environments")
def delete_site(access: SiteWrite, notifier: AppNotifier) -> Envelope[Deleted]:
    site_id = site_of(access).id
    service.delete_site(access.session, site_id)
    publish_after_commit(access.session, notifier, CONFIG_CHANGED, site_id)
    return Envelope(data=Deleted(id=site_id))


@router.get("/{site}/environments", summary="List a site's environments")
def list_environments(access: EnvsRead, page: Page) -> ListEnvelope[EnvironmentOut]:
    stmt = service.visible_environments(access.principal, site_of(access))
    rows, has_more = paginate(access.session, stmt, Environment.id, page)
    return ListEnvelope(data=[EnvironmentOut.model_validate(r) for r in rows], has_more=has_more)


@router.post("/{site}/environments", status_code=201, summary="Create an environment")
def create_environment(
    access: EnvsCreate, notifier: AppNotifier, body: EnvironmentCreate
) -> Envelope[EnvironmentOut]:
    env = service.create_environment(access.session, access.principal, site_of(access), body)
    publish_after_commit(access.session, notifier, CONFIG_CHANGED, env.id)
    return Envelope(data=EnvironmentOut.model_validate(env))


@router.get("/{site}/environments/{env}", summary="Get an environment")
def get_environment(access: EnvRead) -> Envelope[EnvironmentOut]:
    return Envelope(data=EnvironmentOut.model_validate(environment_of(access)))


@router.patch("/{site}/environments/{env}", summary="Update an environment")
def update_environment(
    access: EnvWrite, notifier: AppNotifier, body: EnvironmentUpdate
) -> Envelope[EnvironmentOut]:
    env = service.update_environment(
        access.session, site_of(access), environment_row_of(access), body
    )
    if {"hostnames", "origin_url"} & body.model_fields_set:
        publish_after_commit(access.session, notifier, CONFIG_CHANGED, env.id)
    return Envelope(data=EnvironmentOut.model_validate(env))


@router.delete("/{site}/environments/{env}", summary="Delete an environment")
def delete_environment(access: EnvWrite, notifier: AppNotifier) -> Envelope[Deleted]:
    env = environment_row_of(access)
    service.delete_environment(access.session, env)
    publish_after_commit(access.session, notifier, CONFIG_CHANGED, env.id)
    return Envelope(data=Deleted(id=env.id))
