"""Deployment routes: /v1/sites/{site}/environments/{env}/deployments…"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from forge.deployments import repository, service
from forge.deployments.models import Deployment
from forge.deployments.schemas import DeployedSecret, DeploymentOut
from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope, ListEnvelope, Page, paginate
from forge.http.routing import ForgeRoute
from forge.sites.access import environment_of, environment_resolver

router = APIRouter(
    prefix="/v1/sites/{site}/environments/{env}/deployments",
    tags=["deployments"],
    route_class=ForgeRoute,
)

DeploymentsRead = Annotated[Access, Scoped("deployments:read", environment_resolver)]
DeploymentsWrite = Annotated[Access, Scoped("deployments:write", environment_resolver)]


def _out(access: Access, deployment: Deployment, active: str | None) -> DeploymentOut:
    return DeploymentOut(
        id=deployment.id,
        env_id=deployment.environment_id,
        origin_url=deployment.origin_url,
        created_at=deployment.created_at,
        created_by=deployment.created_by,
        active=deployment.id == active,
        secrets=[
            DeployedSecret(
                key=item.name,
                version=item.version,
                source_environment_id=item.source_environment_id,
            )
            for item in repository.snapshot(access.session, deployment.id)
        ],
    )


@router.post("", status_code=201, summary="Deploy: snapshot the origin and secret versions")
def create_deployment(access: DeploymentsWrite) -> Envelope[DeploymentOut]:
    deployment = service.create(access.session, access.principal, environment_of(access))
    return Envelope(data=_out(access, deployment, deployment.id))


@router.get("", summary="List the environment's deployments, newest first")
def list_deployments(access: DeploymentsRead, page: Page) -> ListEnvelope[DeploymentOut]:
    env = environment_of(access)
    stmt = service.deployments_of(env)
    rows, has_more = paginate(access.session, stmt, Deployment.id, page)
    active = repository.active_id(access.session, env.id)
    return ListEnvelope(data=[_out(access, d, active) for d in rows], has_more=has_more)


@router.get("/{deployment}", summary="Get a deployment and the secret versions it runs")
def get_deployment(access: DeploymentsRead, deployment: str) -> Envelope[DeploymentOut]:
    env = environment_of(access)
    found = service.get(access.session, env, deployment)
    return Envelope(data=_out(access, found, repository.active_id(access.session, env.id)))
