"""The audit log as the API shows it. No event ever holds a secret or a value."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from forge.schemas import Timestamp


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    object: str = "audit_event"
    action: str
    mode: str | None
    actor_type: str
    actor_id: str | None
    key_id: str | None
    key_prefix: str | None
    resource_type: str | None
    resource_id: str | None
    data: dict[str, Any]
    created_at: Timestamp

    @field_serializer("key_prefix")
    def _shown(self, prefix: str | None) -> str | None:
        """Shown like every prefix in the API: `mfk_live_b1c4…`."""
        return f"{prefix}…" if prefix else None
