"""Typed models of every answer. Importing this module loads pydantic; `forge_sdk` itself does
so only on the first typed answer."""

from __future__ import annotations

from typing import Any

from forge_sdk.models._base import ForgeModel
from forge_sdk.models.edge import (
    ByType,
    CacheConfig,
    CachedWhat,
    CacheOverview,
    CacheStats,
    EdgeInfo,
    Job,
    JobResource,
    LastPurge,
    MatchedRule,
    RedirectHop,
    RedirectProblem,
    RedirectRule,
    RedirectSet,
    RedirectTest,
    RedirectVersion,
    TagCount,
    WrittenRedirectSet,
)
from forge_sdk.models.keys import (
    ApiKey,
    AuditEvent,
    Bucket,
    CreatedKey,
    KeySecret,
    KeySelf,
    Owner,
    RateLimits,
    RolledKey,
)
from forge_sdk.models.secrets import (
    Comparison,
    DeployedSecret,
    Deployment,
    ImportResult,
    KeyComparison,
    Secret,
    SecretDeleted,
    SecretDetail,
    SecretSet,
    SecretSource,
    SecretVersion,
)
from forge_sdk.models.tenancy import Deleted, Environment, Project, Site, Team

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Bucket",
    "ByType",
    "CacheConfig",
    "CacheOverview",
    "CacheStats",
    "CachedWhat",
    "Comparison",
    "CreatedKey",
    "Deleted",
    "DeployedSecret",
    "Deployment",
    "EdgeInfo",
    "Environment",
    "ForgeModel",
    "ImportResult",
    "Job",
    "JobResource",
    "KeyComparison",
    "KeySecret",
    "KeySelf",
    "LastPurge",
    "MatchedRule",
    "Owner",
    "Project",
    "RateLimits",
    "RedirectHop",
    "RedirectProblem",
    "RedirectRule",
    "RedirectSet",
    "RedirectTest",
    "RedirectVersion",
    "RolledKey",
    "Secret",
    "SecretDeleted",
    "SecretDetail",
    "SecretSet",
    "SecretSource",
    "SecretVersion",
    "Site",
    "TagCount",
    "Team",
    "WrittenRedirectSet",
    "build",
]


def build(name: str, data: Any, answer: Any = None) -> Any:
    """The model `name` of an answer's data (with its request id and ETag when given)."""
    model: type[ForgeModel] = globals()[name]
    obj = model.model_validate(data)
    if answer is not None:
        obj._request_id = answer.request_id
        obj._etag = answer.headers.get("etag")
    return obj
