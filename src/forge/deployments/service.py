"""Deployments: a snapshot of what an environment runs (origin, effective secret versions).
Secret changes made after a deployment wait for the next one ("applies on next deploy")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.crypto.keyring import Keyring
from forge.deployments.models import Deployment, DeploymentSecret
from forge.deployments.repository import snapshot
from forge.errors import NotFound, ValidationFailed
from forge.principal import Principal
from forge.secrets.inheritance import resolve
from forge.secrets.listing import current_versions
from forge.secrets.models import Secret, SecretVersion
from forge.secrets.service import actor_id
from forge.secrets.values import open_version
from forge.sites.models import Environment
from forge.sites.service import EnvironmentLike


def create(session: Session, principal: Principal, env: EnvironmentLike) -> Deployment:
    """Refused (422, naming them) while a required key has no effective value."""
    effective = resolve(session, env)
    missing = [
        item.name for item in effective if item.secret.required and not item.secret.has_value
    ]
    if missing:
        raise ValidationFailed(
            f"Required secrets have no value: {', '.join(missing)}.",
            param="secrets",
            extra={"missing_secrets": missing},
        )
    deployment = Deployment(
        environment_id=env.id, origin_url=env.origin_url, created_by=actor_id(principal)
    )
    session.add(deployment)
    session.flush()
    sources = {item.name: item.source.id for item in effective}
    versions = current_versions(session, effective)
    session.add_all(
        DeploymentSecret(
            deployment_id=deployment.id,
            name=name,
            version_id=row.id,
            version=row.version,
            source_environment_id=sources[name],
        )
        for name, row in versions.items()
    )
    session.flush()
    audit.record(
        session,
        team_id=env.site.team_id,
        action="deployment.created",
        actor=principal,
        resource_type="deployment",
        resource_id=deployment.id,
        data={"environment": env.id, "keys": sorted(versions)},
    )
    return deployment


def get(session: Session, env: EnvironmentLike, deployment_id: str) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None or deployment.environment_id != env.id:
        raise NotFound(f"No deployment {deployment_id!r} in this environment.", param="id")
    return deployment


def deployments_of(env: EnvironmentLike) -> Select[Deployment]:
    return select(Deployment).where(Deployment.environment_id == env.id)


@dataclass(frozen=True)
class Resolved:
    deployment: Deployment
    values: dict[str, str]


def resolved_values(session: Session, keyring: Keyring, deployment_id: str) -> Resolved:
    """Operator side only (`forge admin deployments env`): the snapshot's values, decrypted.
    Raises DecryptionFailed, returning nothing, if any row was altered or moved."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"No deployment {deployment_id!r}.", param="id")
    values: dict[str, str] = {}
    for item in snapshot(session, deployment_id):
        row = session.get_one(SecretVersion, item.version_id)
        secret = session.get_one(Secret, row.secret_id)
        source = session.get_one(Environment, secret.environment_id)
        values[item.name] = open_version(keyring, source, secret.name, row).decode("utf-8")
    return Resolved(deployment=deployment, values=values)
