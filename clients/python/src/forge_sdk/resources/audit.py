"""The team's audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge_sdk._endpoints import Call, M, Resource, paged
from forge_sdk.resources._common import present

if TYPE_CHECKING:
    from forge_sdk.models import AuditEvent


class AuditEvents(Resource[M]):
    @paged("/v1/audit-events", "AuditEvent")
    def list(
        self,
        *,
        key_prefix: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        resource: str | None = None,
        limit: int | None = None,
    ) -> Call[AuditEvent]:
        """Newest first; `since` (inclusive) and `until` (exclusive) are RFC 3339 with a zone."""
        query = present(
            key_prefix=key_prefix,
            action=action,
            since=since,
            until=until,
            resource=resource,
            limit=limit,
        )
        return Call(params=query)
