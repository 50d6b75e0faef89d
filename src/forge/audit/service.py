"""Recording audit events. Callers pass names and ids only, never secrets or values."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from forge.audit.models import AuditEvent
from forge.keys.principal import Principal


def record(
    session: Session,
    *,
    team_id: str,
    action: str,
    actor: Principal | None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the caller's unit of work; `actor=None` means the operator CLI."""
    event = AuditEvent(
        team_id=team_id,
        action=action,
        actor_type=("client" if actor.client_id else "team") if actor else "operator",
        actor_id=(actor.client_id or actor.team_id) if actor else None,
        key_id=actor.key_id if actor else None,
        key_prefix=actor.key_prefix if actor else None,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data or {},
    )
    session.add(event)
    return event
