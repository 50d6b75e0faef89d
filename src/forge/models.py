"""Every table, imported in one place so migrations and tests see the whole schema."""

from forge.audit.models import AuditEvent
from forge.db import Base
from forge.deployments.models import Deployment, DeploymentSecret
from forge.keys.models import ApiKey, KeySecret
from forge.secrets.models import MasterKeyCheck, Secret, SecretVersion
from forge.sites.models import Environment, EnvironmentHostname, Site
from forge.tenancy.models import Client, Membership, Project, Team

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Client",
    "Deployment",
    "DeploymentSecret",
    "Environment",
    "EnvironmentHostname",
    "KeySecret",
    "MasterKeyCheck",
    "Membership",
    "Project",
    "Secret",
    "SecretVersion",
    "Site",
    "Team",
    "metadata",
]
