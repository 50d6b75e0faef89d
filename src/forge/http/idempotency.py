"""Idempotency-Key on every authenticated POST, once for every route.

`Scoped` asks `stored_answer` right after authentication (a replay, 422 or 409 is answered
from the store and spends one `read` unit instead of the route's bucket), and `claim` after
the path and scope checks passed, just before the route runs. `ForgeRoute` then settles the
claim: the route's response is stored in the route's own transaction; a ForgeError the route
raised (404, 409, …) is stored too, as Stripe does; a request that failed validation (422
validation_error) or crashed (500, its transaction rolled back, so nothing happened) releases
the claim and stores nothing, so a corrected or later retry runs afresh. Requests refused
before the claim (401, 403, 404 from the path, 429, 400) never touch the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from forge.clock import utcnow
from forge.db import Database
from forge.errors import (
    ForgeError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidRequest,
    ValidationFailed,
)
from forge.http.errors import error_body
from forge.idempotency import service
from forge.idempotency.service import Caller, StoredResponse

if TYPE_CHECKING:
    from forge.http.auth import Access

# Headers that belong to the outcome and are replayed with it (not Request-Id, rate limits…).
REPLAYED_HEADERS = frozenset({"content-type", "location", "etag", "retry-after"})
SWEEP_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Claim:
    database: Database
    caller: Caller
    key: str


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


async def stored_answer(request: Request, access: Access) -> Exception | None:
    """What to answer from the store instead of running the route: a `Replayed`, a 422/409,
    or a 400 for a malformed key; None to go on (the key is remembered for `claim`)."""
    raw = request.headers.get(service.HEADER) if request.method == "POST" else None
    if raw is None:
        return None
    try:
        key = service.checked_key(raw)
    except InvalidRequest as err:
        return err
    wanted = service.fingerprint(request.method, _target(request), await request.body())
    request.state.idempotency_key = (key, wanted)
    try:
        stored = service.stored_answer(
            access.database.reader, Caller.of(access.principal), key, wanted, utcnow()
        )
    except (IdempotencyKeyReused, IdempotencyInProgress) as err:
        return err
    return Replayed(stored) if stored is not None else None


def claim(request: Request, access: Access) -> None:
    pending: tuple[str, str] | None = getattr(request.state, "idempotency_key", None)
    if pending is None:
        return
    key, wanted = pending
    caller = Caller.of(access.principal)
    # The claim commits on its own so a racing twin sees it. End whatever the resolvers read
    # first: on SQLite an open transaction holds the write lock the claim needs.
    access.end_transaction()
    _sweeper.maybe_sweep(access.database)
    with access.database.session() as session:
        stored = service.claim(session, caller, key, wanted, utcnow())
    if stored is not None:  # the racing twin finished first
        raise Replayed(stored)
    request.state.idempotency_claim = Claim(access.database, caller, key)


def _claim_of(request: Request) -> Claim | None:
    found: Claim | None = getattr(request.state, "idempotency_claim", None)
    return found


def settle_success(request: Request, response: Response) -> None:
    """Store the route's response in the route's own transaction (committed next)."""
    claim_ = _claim_of(request)
    if claim_ is None:
        return
    access: Access = request.state.access
    headers = {k: v for k, v in response.headers.items() if k in REPLAYED_HEADERS}
    service.complete(
        access.session,
        claim_.caller,
        claim_.key,
        response.status_code,
        headers,
        bytes(response.body),
    )


def settle_failure(request: Request, exc: BaseException) -> None:
    claim_ = _claim_of(request)
    if claim_ is None:
        return
    request.state.idempotency_claim = None
    with claim_.database.session() as session:
        if isinstance(exc, ForgeError) and not isinstance(exc, ValidationFailed):
            headers = {k: v for k, v in exc.headers.items() if k.lower() in REPLAYED_HEADERS}
            headers["content-type"] = "application/json"
            service.complete(
                session, claim_.caller, claim_.key, exc.status, headers, error_body(exc)
            )
        else:
            service.release(session, claim_.caller, claim_.key)
