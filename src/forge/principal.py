"""Who is calling, as every layer sees it: a key's effective rights and what it is pinned to.

A leaf module (it imports only `forge.errors`), so `http`, `audit`, `sites`, `ratelimit` and every
service can name a `Principal` without importing `forge.keys`; `forge.keys.principal.resolve`
builds one from a key's secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from forge.errors import InsufficientScope


@dataclass(frozen=True)
class Constraint:
    """What a key is pinned to: one team, project, site or environment, and all beneath it."""

    type: str
    id: str

    def covers(
        self,
        *,
        team_id: str,
        project_id: str | None = None,
        site_id: str | None = None,
        env_id: str | None = None,
    ) -> bool:
        pinned = {"team": team_id, "project": project_id, "site": site_id, "environment": env_id}
        return pinned.get(self.type) == self.id


@dataclass(frozen=True)
class Principal:
    key_id: str
    secret_id: str
    key_prefix: str
    family: str
    mode: str
    team_id: str
    client_id: str | None
    role: str | None  # the client's current role; None for a service token (acts as the team)
    scopes: frozenset[str]
    rights: frozenset[str]
    constraint: Constraint | None
    ip_allowlist: tuple[str, ...]
    expires_at: datetime

    @property
    def effective_scopes(self) -> frozenset[str]:
        return self.scopes & self.rights

    def require(self, scope: str) -> None:
        if scope not in self.effective_scopes:
            held_but_not_allowed = scope in self.scopes
            raise InsufficientScope(
                scope,
                sorted(self.scopes),
                role=(self.role or "team") if held_but_not_allowed else None,
            )

    def covers(
        self,
        *,
        team_id: str,
        project_id: str | None = None,
        site_id: str | None = None,
        env_id: str | None = None,
    ) -> bool:
        if team_id != self.team_id:
            return False
        if self.constraint is None:
            return True
        return self.constraint.covers(
            team_id=team_id, project_id=project_id, site_id=site_id, env_id=env_id
        )
