"""Recording and reading audit events. Callers pass names and ids only, never secrets or values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from forge.audit.models import AuditEvent
from forge.clock import utcnow
from forge.db import run_driver, stored_datetime
from forge.driver import DriverSQL
from forge.errors import Forbidden
from forge.ids import new_id
from forge.principal import Principal

# Actor ids of events no principal caused (`actor_type` "system").
SYSTEM_FORGE = "forge"
SYSTEM_SECRET_SCANNING = "github-secret-scanning"  # noqa: S105 (a name, not a secret)
# At the driver (`run_driver`): a Core execute of this INSERT, even prebuilt, was ~9% of a
# secret PUT's CPU (compile and parameter processing, measured in-process).
_INSERT_EVENT = DriverSQL(
    "INSERT INTO audit_events (id, team_id, action, mode, actor_type, actor_id, key_id,"
    " key_prefix, resource_type, resource_id, data, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record(
    session: Session,
    *,
    team_id: str,
    action: str,
    actor: Principal | None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    data: dict[str, Any] | None = None,
    mode: str | None = None,
    system: str | None = None,
) -> None:
    """Insert an event in the caller's unit of work. `actor=None` means the operator CLI, unless
    `system` names the part of Forge that acted (the expiry sweep, the secret scanner).

    One INSERT at the driver, not an ORM object for the commit's flush to insert: a unit of
    work that wrote at the driver (a secret's value) then needs no unit-of-work flush at all.
    What the unit holds pending (a team just made, which the event refers to) is flushed
    first."""
    if actor is not None:
        actor_type, actor_id = ("client", actor.client_id) if actor.client_id else ("team", None)
        actor_id = actor_id or actor.team_id
    else:
        actor_type, actor_id = ("system", system) if system else ("operator", None)
    session.flush()
    row = (
        new_id("evt"),
        team_id,
        action,
        mode or (actor.mode if actor else None),
        actor_type,
        actor_id,
        actor.key_id if actor else None,
        actor.key_prefix if actor else None,
        resource_type,
        resource_id,
        json.dumps(data or {}),  # as the model's JSON column stores it
        stored_datetime(session, utcnow()),
    )
    run_driver(session, _INSERT_EVENT, [row])


@dataclass(frozen=True)
class EventFilter:
    key_prefix: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    resource: str | None = None


def visible_events(principal: Principal, wanted: EventFilter) -> Select[AuditEvent]:
    """The team's events in the key's mode (and mode-less team events), filtered.

    The log spans the whole team, so a key pinned below the team may not read it."""
    if principal.constraint is not None and principal.constraint.type != "team":
        raise Forbidden(
            "The audit log covers the whole team; this key is pinned to "
            f"{principal.constraint.type} {principal.constraint.id}.",
            param="key",
        )
    stmt = select(AuditEvent).where(
        AuditEvent.team_id == principal.team_id,
        or_(AuditEvent.mode == principal.mode, AuditEvent.mode.is_(None)),
    )
    if wanted.key_prefix is not None:
        stmt = stmt.where(AuditEvent.key_prefix == wanted.key_prefix.rstrip("…"))
    if wanted.action is not None:
        stmt = stmt.where(AuditEvent.action == wanted.action)
    if wanted.since is not None:
        stmt = stmt.where(AuditEvent.created_at >= wanted.since)
    if wanted.until is not None:
        stmt = stmt.where(AuditEvent.created_at < wanted.until)
    if wanted.resource is not None:
        stmt = stmt.where(AuditEvent.resource_id == wanted.resource)
    return stmt
