"""The redirect routes: /v1/sites/{site}/environments/{env}/redirects…"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from forge import notify
from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope, ListEnvelope
from forge.http.middleware import BodyLimit
from forge.http.routing import ForgeRoute
from forge.redirects import presenters, service, testing
from forge.redirects.schemas import (
    RedirectSetOut,
    RedirectSetWritten,
    RedirectTestIn,
    RedirectTestOut,
    RedirectVersionOut,
    RuleSetIn,
)
from forge.redirects.service import Precondition, Written
from forge.schemas import MAX_INT32
from forge.sites.access import environment_of, environment_resolver

PREFIX = "/v1/sites/{site}/environments/{env}/redirects"
# A set of 100,000 rules must fit whatever the global body limit (FORGE_MAX_BODY_BYTES).
MAX_PUT_BYTES = 16 * 1024 * 1024
BODY_LIMIT = BodyLimit(
    "PUT", re.compile(r"/v1/sites/[^/]+/environments/[^/]+/redirects"), MAX_PUT_BYTES
)
router = APIRouter(prefix=PREFIX, tags=["redirects"], route_class=ForgeRoute)

RedirectsRead = Annotated[Access, Scoped("redirects:read", environment_resolver)]
RedirectsWrite = Annotated[Access, Scoped("redirects:write", environment_resolver)]
RedirectsAct = Annotated[Access, Scoped("redirects:write", environment_resolver, bucket="write")]
RedirectsQuery = Annotated[Access, Scoped("redirects:read", environment_resolver, bucket="read")]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description='The ETag read (`"v3"`): 412 if the set changed since. `*` or none: any.',
    ),
]
VersionCursor = Annotated[
    int | None,
    Query(
        ge=1, le=MAX_INT32, description="The version number of the last item of the page before."
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1–100.")]


def _written(request: Request, access: Access, written: Written, *, stream: bool) -> Response:
    """Commit first, then wake the edges (they re-read the database), then answer."""
    access.end_transaction()
    notifier: notify.Notifier | None = getattr(request.app.state, "notifier", None)
    if notifier is not None:
        notifier.publish(notify.CONFIG_CHANGED, environment_of(access).id)
    return presenters.rule_set_response(written.rule_set, written.warnings, stream=stream)


@router.get(
    "",
    summary="Read the environment's redirect rules, in order",
    response_model=Envelope[RedirectSetOut],
)
def get_redirects(access: RedirectsRead) -> Response:
    return presenters.rule_set_response(service.current(access.session, environment_of(access)))


@router.put(
    "",
    summary="Replace the whole rule set (bodies up to 16 MiB)",
    response_model=Envelope[RedirectSetWritten],
)
def put_redirects(
    request: Request, access: RedirectsWrite, body: RuleSetIn, if_match: IfMatch = None
) -> Response:
    written = service.replace(
        access.session,
        access.principal,
        environment_of(access),
        [rule.rule() for rule in body.rules],
        Precondition.parse(if_match),
    )
    return _written(request, access, written, stream=True)


@router.get("/versions", summary="List the set's versions, newest first")
def list_redirect_versions(
    access: RedirectsRead, limit: Limit = 20, starting_after: VersionCursor = None
) -> ListEnvelope[RedirectVersionOut]:
    rows, more = service.versions(access.session, environment_of(access), limit, starting_after)
    return ListEnvelope(
        data=[
            RedirectVersionOut(
                version=row.version,
                rule_count=row.rule_count,
                restored_from=row.restored_from,
                created_by=row.created_by,
                created_at=row.created_at,
            )
            for row in rows
        ],
        has_more=more,
    )


@router.post(
    "/versions/{version}/restore",
    summary="Make a new version equal to an old one",
    response_model=Envelope[RedirectSetWritten],
)
def restore_redirects(
    request: Request,
    access: RedirectsAct,
    version: Annotated[int, Path(ge=1, le=MAX_INT32)],
    if_match: IfMatch = None,
) -> Response:
    written = service.restore(
        access.session,
        access.principal,
        environment_of(access),
        version,
        Precondition.parse(if_match),
    )
    return _written(request, access, written, stream=False)


@router.post("/test", summary="Which rule a URL hits, where it goes, and the whole chain")
def test_redirects(access: RedirectsQuery, body: RedirectTestIn) -> Envelope[RedirectTestOut]:
    return Envelope(data=testing.run(access.session, environment_of(access), body))
