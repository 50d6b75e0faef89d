"""`GET /v1/audit-events`: the team's audit log, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from forge.audit import service
from forge.audit.models import AuditEvent
from forge.audit.schemas import AuditEventOut
from forge.http.auth import Access, Scoped
from forge.http.envelope import ListEnvelope, Page, paginate
from forge.http.routing import ForgeRoute

router = APIRouter(tags=["audit"], route_class=ForgeRoute)

AuditRead = Annotated[Access, Scoped("audit:read")]


@router.get("/v1/audit-events", summary="List audit events (key events and key usage)")
def list_events(
    access: AuditRead,
    page: Page,
    key_prefix: Annotated[
        str | None,
        Query(max_length=33, description="The acting key's prefix, e.g. mfk_live_b1c4…"),
    ] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="e.g. key.used, key.rolled")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="RFC 3339, inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="RFC 3339, exclusive")] = None,
    resource: Annotated[
        str | None, Query(max_length=64, description="The id the event is about")
    ] = None,
) -> ListEnvelope[AuditEventOut]:
    wanted = service.EventFilter(
        key_prefix=key_prefix, action=action, since=since, until=until, resource=resource
    )
    stmt = service.visible_events(access.principal, wanted)
    rows, has_more = paginate(access.session, stmt, AuditEvent.id, page)
    return ListEnvelope(data=[AuditEventOut.model_validate(r) for r in rows], has_more=has_more)
