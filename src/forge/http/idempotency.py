"""Idempotency-Key on every authenticated POST, once for every route.

Stage 6 of the pipeline (`forge.http.pipeline`): `check` runs only after the path's resources
and the scope passed, so a replay never answers a caller the route itself would refuse. It
answers from the store (a replay, 422 for a different request, 409 while the first runs, 400
for a malformed key) or claims the key just before the route runs. `ForgeRoute` then settles
the claim: the route's response is stored in the route's own transaction; a ForgeError the
route raised (404, 409, …) is stored too, as Stripe does; a request that failed validation (422
validation_error) or crashed (500, its transaction rolled back, so nothing happened) releases
the claim and stores nothing, so a corrected or later retry runs afresh. Requests refused
before this stage (401, 403, 404 from the path, 429) never touch the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from forge.clock import utcnow
from forge.db import Database
from forge.errors import ForgeError, ValidationFailed
from forge.http.errors import Surface, error_body
from forge.idempotency import service
from forge.idempotency.service import Caller, StoredResponse

if TYPE_CHECKING:
    from forge.http.access import Access

# Headers that belong to the outcome and are replayed with it (not Request-Id, rate limits…).
REPLAYED_HEADERS = frozenset({"content-type", "location", "etag", "retry-after"})
SWEEP_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Claim:
    database: Database
    caller: Caller
    key: str
    surface: Surface


class Replayed(Exception):
    """Not an error: the stored answer, carried out of `Scoped` to `ForgeRoute`."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.response = Response(
            stored.body,
            status_code=stored.status,
            headers={**stored.headers, "Idempotent-Replayed": "true"},
        )


class _Sweeper:
    """Expired records are deleted opportunistically: by a claim, at most once a minute per
    process, so the table holds about a day of keys without any background task."""

    def __init__(self) -> None:
        self._next = 0.0

    def maybe_sweep(self, database: Database) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + SWEEP_EVERY_SECONDS
        with database.session() as session:
            service.sweep(session, utcnow())


_sweeper = _Sweeper()


def _target(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


@dataclass(frozen=True)
class Pending:
    """A POST's Idempotency-Key as sent, and the fingerprint of the request it came with."""

    raw: str
    fingerprint: str


async def pending(request: Request) -> Pending | None:
    """Read before the stage runs (the body is awaited on the event loop)."""
    raw = request.headers.get(service.HEADER) if request.method == "POST" else None
    if raw is None:
        return None
    wanted = service.fingerprint(request.method, _target(request), await request.body())
    return Pending(raw, wanted)


def _stored(access: Access, pending: Pending) -> tuple[str, StoredResponse | None]:
    """The checked key and its stored answer, read on the unit's autocommit `Reads` (the
    request's session would take SQLite's write lock, which a running twin holds)."""
    key = service.checked_key(pending.raw)
    caller = Caller.of(access.principal)
    return key, service.stored_answer(access.reads, caller, key, pending.fingerprint, utcnow())


def answered_from_store(access: Access, pending: Pending) -> bool:
    """Whether stage 6 is going to answer without running the route (a replay, 409, 422 or a
    malformed key's 400): that spends one `read` unit instead of the route's bucket. Decided
    before the spend; the answer itself is given only by stage 6."""
    try:
        return _stored(access, pending)[1] is not None
    except ForgeError:
        return True


def check(access: Access, pending: Pending) -> None:
    """Answer from the store (raise `Replayed`, 409, 422, 400), or claim the key."""
    key, stored = _stored(access, pending)
    caller = Caller.of(access.principal)
    if stored is not None:
        raise Replayed(stored)
    # The claim commits on its own so a racing twin sees it. End whatever the resolvers read
    # first: on SQLite an open transaction holds the write lock the claim needs.
    access.end_transaction()
    _sweeper.maybe_sweep(access.database)
    with access.database.session() as session:
        stored = service.claim(session, caller, key, pending.fingerprint, utcnow())
    if stored is not None:  # the racing twin finished first
        raise Replayed(stored)
    access.claim = Claim(access.database, caller, key, access.surface)


def settle_success(access: Access, response: Response) -> None:
    """Store the route's response in the route's own transaction (committed next)."""
    claim = access.claim
    if claim is None:
        return
    headers = {k: v for k, v in response.headers.items() if k in REPLAYED_HEADERS}
    service.complete(
        access.session, claim.caller, claim.key, response.status_code, headers, bytes(response.body)
    )


def settle_failure(access: Access, exc: BaseException) -> None:
    claim, access.claim = access.claim, None
    if claim is None:
        return
    with claim.database.session() as session:
        if isinstance(exc, ForgeError) and not isinstance(exc, ValidationFailed):
            headers = {k: v for k, v in exc.headers.items() if k.lower() in REPLAYED_HEADERS}
            headers["content-type"] = "application/json"
            service.complete(
                session,
                claim.caller,
                claim.key,
                exc.status,
                headers,
                error_body(exc, claim.surface),
            )
        else:
            service.release(session, claim.caller, claim.key)
