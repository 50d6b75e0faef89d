"""Deployment look-ups shared by the deployment service and the secret lists."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.deployments.models import Deployment, DeploymentSecret


def active_id(session: Session, env_id: str) -> str | None:
    """The environment's newest deployment: the one that runs now."""
    return session.scalar(
        select(Deployment.id)
        .where(Deployment.environment_id == env_id)
        .order_by(Deployment.id.desc())
        .limit(1)
    )


def snapshot(session: Session, deployment_id: str) -> list[DeploymentSecret]:
    return list(
        session.scalars(
            select(DeploymentSecret)
            .where(DeploymentSecret.deployment_id == deployment_id)
            .order_by(DeploymentSecret.name)
        )
    )
