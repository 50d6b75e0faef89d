"""The scope catalogue, the presets, and what each team role may ever do.

Scopes are `resource:action`; `write` never implies `read`. A key's effective rights at any
request are its scopes ∩ its owner's current rights (∩ its resource constraint, elsewhere).
"""

from __future__ import annotations

import functools

READ_SCOPES = (
    "teams:read",
    "projects:read",
    "sites:read",
    "environments:read",
    "cache:read",
    "redirects:read",
    "secrets:read",
    "deployments:read",
    "jobs:read",
    "audit:read",
)
WRITE_SCOPES = (
    "teams:write",
    "projects:write",
    "sites:write",
    "environments:write",
    "cache:write",
    "redirects:write",
    "secrets:write",
    "secrets:set-value",
    "deployments:write",
    "keys:write",
)
ALL_SCOPES: frozenset[str] = frozenset(READ_SCOPES + WRITE_SCOPES)

PRESETS: dict[str, tuple[str, ...]] = {
    "read-only": tuple(s for s in READ_SCOPES if s != "audit:read"),
    "deploy": (
        "sites:read",
        "environments:read",
        "deployments:read",
        "deployments:write",
        "cache:write",
        "jobs:read",
    ),
    "full-access": tuple(sorted(ALL_SCOPES)),
}

_VIEWER = frozenset(READ_SCOPES) - {"audit:read"}
_MEMBER = _VIEWER | {
    "projects:write",
    "sites:write",
    "environments:write",
    "cache:write",
    "redirects:write",
    "secrets:write",
    "deployments:write",
    "keys:write",
}
_ADMIN = _MEMBER | {"audit:read", "teams:write"}
_OWNER = _ADMIN | {"secrets:set-value"}

ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "viewer": _VIEWER,
    "member": _MEMBER,
    "admin": _ADMIN,
    "owner": _OWNER,
}
ROLES = tuple(ROLE_RIGHTS)

# Setting a secret value is one right on every surface and route (PUT, import, restore, the
# team/site/env path PUT …/value). Which roles hold it is a team setting; by default owners only.
SET_VALUE = "secrets:set-value"
DEFAULT_VALUE_SETTER_ROLES = "owner"
VALUE_SETTER_ROLES = ("owner", "admin", "member")


@functools.lru_cache(maxsize=256)  # resolved for every request of a client's key
def role_rights(role: str, secret_value_roles: str) -> frozenset[str]:
    """A role's rights in a team whose setting lets `secret_value_roles` set values."""
    base = ROLE_RIGHTS[role] - {SET_VALUE}
    return base | {SET_VALUE} if role in secret_value_roles.split(",") else base


# A service token acts as its team: an admin's rights. Setting secret values stays with people.
TEAM_PRINCIPAL_RIGHTS = _ADMIN


def expand(requested: list[str] | str) -> list[str]:
    """A preset name or a list of scopes → a sorted list; raises ValueError naming the bad one."""
    if isinstance(requested, str):
        if requested not in PRESETS:
            raise ValueError(f"unknown preset {requested!r}; presets: {', '.join(PRESETS)}")
        return sorted(PRESETS[requested])
    unknown = [s for s in requested if s not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}")
    return sorted(set(requested))
