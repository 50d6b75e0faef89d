"""One resource object per API area, as attributes of `Forge` and `AsyncForge`."""

from __future__ import annotations

from typing import Any, Generic

from forge_sdk._endpoints import M
from forge_sdk.resources.audit import AuditEvents
from forge_sdk.resources.cache import Cache
from forge_sdk.resources.jobs import Jobs
from forge_sdk.resources.keys import Keys, RateLimits
from forge_sdk.resources.redirects import Redirects
from forge_sdk.resources.secrets import Deployments, Secrets
from forge_sdk.resources.sites import Environments, Projects, Sites, Teams


class Resources(Generic[M]):
    sites: Sites[M]
    environments: Environments[M]
    teams: Teams[M]
    projects: Projects[M]
    keys: Keys[M]
    rate_limits: RateLimits[M]
    secrets: Secrets[M]
    deployments: Deployments[M]
    audit_events: AuditEvents[M]
    redirects: Redirects[M]
    cache: Cache[M]
    jobs: Jobs[M]

    def __init__(self, runner: Any) -> None:
        self.sites = Sites(runner)
        self.environments = Environments(runner)
        self.teams = Teams(runner)
        self.projects = Projects(runner)
        self.keys = Keys(runner)
        self.rate_limits = RateLimits(runner)
        self.secrets = Secrets(runner)
        self.deployments = Deployments(runner)
        self.audit_events = AuditEvents(runner)
        self.redirects = Redirects(runner)
        self.cache = Cache(runner)
        self.jobs = Jobs(runner)
