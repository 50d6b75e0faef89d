"""Every table, imported in one place so migrations and tests see the whole schema."""

from forge.audit.models import AuditEvent
from forge.cache.models import CachePurge, Edge, EdgePurgeResult
from forge.db import Base
from forge.deployments.models import Deployment, DeploymentSecret
from forge.idempotency.models import IdempotencyRecord
from forge.jobs.models import Job
from forge.keys.models import ApiKey, KeySecret
from forge.ratelimit.models import RateLimitOverride
from forge.redirects.models import RedirectSet, RedirectVersion
from forge.secrets.models import MasterKeyCheck, Secret, SecretVersion
from forge.sites.models import Environment, EnvironmentHostname, Site
from forge.tenancy.models import Client, Membership, Project, Team

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CachePurge",
    "Client",
    "Deployment",
    "DeploymentSecret",
    "Edge",
    "EdgePurgeResult",
    "Environment",
    "EnvironmentHostname",
    "IdempotencyRecord",
    "Job",
    "KeySecret",
    "MasterKeyCheck",
    "Membership",
    "Project",
    "RateLimitOverride",
    "RedirectSet",
    "RedirectVersion",
    "Secret",
    "SecretVersion",
    "Site",
    "Team",
    "metadata",
]
