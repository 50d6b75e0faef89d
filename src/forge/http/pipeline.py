"""The request pipeline every authenticated route runs, one named stage after another:

    authenticate → IP allowlist → rate limit → resolve the path's resources → check the scope
    → idempotency → route → commit

The first six run in `admit` (called by `ForgeRoute` for the gate a route declares with `Scoped`,
before FastAPI solves the route's parameters and validates the body); the route and the commit
run in `ForgeRoute`. Each stage is a function of its own, tested alone in
tests/http/test_pipeline.py. The order is the contract: a request learns nothing a
previous stage would have refused it (a key outside a site's reach gets 404 before 403, and an
idempotent replay is answered only once the resources and the scope passed).

Stages 1, 2, 4 and 5 only read: they run through `Database.run_reads`, inline on embedded
SQLite, and on PostgreSQL on the event loop with their look-ups on the async driver (no thread;
`forge.loop_reads`). What stages 4 and 5 refuse is raised after the rate limit, so a 429 still
comes first; the rate limiter's spend, which may wait on Redis, runs on the event loop. A
resolver that loads through the session (`@resolves(..., session=True)`) runs them in a worker
thread instead. A write with an Idempotency-Key makes a hop to a thread for the claim (stage 6),
and a route that uses the session another for the route and commit; an `async def` route that
only reads what the resolvers loaded needs none (`ForgeRoute`).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request

from forge.config import IPNetwork, Settings
from forge.db import Database
from forge.errors import AuthenticationFailed, ForgeError, InvalidRequest, IpNotAllowed
from forge.http import client_ip, idempotency, throttling
from forge.http.access import Access, Bucket, PathResolver
from forge.http.errors import surface_of_route
from forge.keys import principal as principals
from forge.keys.usage import UsageRecorder
from forge.principal import Principal
from forge.ratelimit.limiter import RateLimiter


@dataclass(frozen=True)
class Gate:
    """What a route declares through `Scoped`: the scope it needs (None: any valid key), the
    resolver of its path resources and the rate-limit bucket it spends from."""

    scope: str | None
    resolver: PathResolver | None
    bucket: Bucket | None
    api_key_header: bool = False  # also take the key from `x-api-key` (a documented surface)


def bucket_for(method: str, declared: Bucket | None) -> Bucket:
    if declared is not None:
        return declared
    if method in ("GET", "HEAD"):
        return "read"
    return "create" if method == "POST" else "write"


API_KEY_HEADER = "x-api-key"


def bearer_token(request: Request, api_key_header: bool = False) -> str:
    """The key from `Authorization: Bearer`; on the routes that document it (the clear-cache
    surface), from `x-api-key` when no Authorization header is sent."""
    sent = request.headers.getlist("authorization")
    if len(sent) > 1:
        # Proxies and frameworks disagree on which of two wins: ambiguous, so neither.
        raise InvalidRequest(
            f"The request has {len(sent)} Authorization headers; send exactly one.",
            param="Authorization",
        )
    header = sent[0] if sent else None
    if not header and api_key_header:
        token = request.headers.get(API_KEY_HEADER, "").strip()
        if not token:
            raise AuthenticationFailed("No API key: send it as `x-api-key: <key>`.")
        return token
    if not header:
        hint = (
            "; X-API-Key is not read by the /v1 API." if API_KEY_HEADER in request.headers else "."
        )
        raise AuthenticationFailed(f"No API key: send it as `Authorization: Bearer <key>`{hint}")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Malformed Authorization header: expected `Bearer <key>`.")
    return token.strip()


def caller_ip(request: Request, settings: Settings) -> str:
    socket_ip = request.client.host if request.client else "0.0.0.0"  # noqa: S104
    return client_ip.resolve(
        socket_ip, request.headers.get("x-forwarded-for"), settings.trusted_proxies
    )


# Stage 1 ------------------------------------------------------------------------------------
def authenticate(database: Database, token: str, address: str, writes: bool) -> Access:
    """The key behind `token` (401 otherwise), as the request's `Access`. The look-up is on
    the unit's autocommit `Reads`, so it holds no lock while the rate limiter waits on Redis."""
    reads = database.reads()
    try:
        principal = principals.resolve(reads, token)
    except BaseException:
        reads.close()
        raise
    return Access(database, principal, address, writes=writes, reads=reads)


# Stage 2 ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parsed once per distinct allowlist, not on every request."""
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def check_ip_allowlist(principal: Principal, address: str) -> None:
    if not principal.ip_allowlist:
        return
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise IpNotAllowed("This key may not be used from this address.") from None
    # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; match them as IPv4.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not any(ip in network for network in _networks(principal.ip_allowlist)):
        raise IpNotAllowed(f"This key may not be used from {address}.")


# Stage 3 is `throttling.spend` (async: the Redis backend is a network round trip).


# Stage 4 ------------------------------------------------------------------------------------
def resolve_resources(
    access: Access, resolver: PathResolver | None, params: Mapping[str, str]
) -> None:
    if resolver is not None:
        resolver(access, params)


# Stage 5 ------------------------------------------------------------------------------------
def check_scope(access: Access, scope: str | None) -> None:
    if scope is not None:
        access.principal.require(scope)


# Stage 6 is `idempotency.check`: a stored answer is replayed, or the key claimed.


def _identify(
    request: Request, database: Database, token: str, address: str, writes: bool
) -> Access:
    """Stages 1 and 2."""
    access = authenticate(database, token, address, writes)
    request.state.access = access
    request.state.key_prefix = access.principal.key_prefix
    check_ip_allowlist(access.principal, address)
    usage: UsageRecorder = request.app.state.usage
    usage.record(access.principal, address)
    limiter: RateLimiter = request.app.state.limiter
    limiter.overrides.refresh_if_stale()
    return access


@dataclass
class Admission:
    """What the first unit of work found: the caller, the bucket to spend, and the refusal of
    stage 4 or 5, held back until stage 3 has spent the budget (a 429 still comes first)."""

    access: Access
    spend: Bucket
    refusal: ForgeError | None = None


def _identify_and_authorise(
    request: Request,
    gate: Gate,
    params: Mapping[str, str],
    token: str,
    address: str,
    pending: idempotency.Pending | None,
) -> Admission:
    """Stages 1, 2, 4 and 5 together, before the rate limiter: they only read (`Access.reads`).
    Their refusal is raised by `admit` after stage 3."""
    database: Database = request.app.state.database
    access = _identify(request, database, token, address, request.method not in ("GET", "HEAD"))
    access.bucket = bucket_for(request.method, gate.bucket)
    access.surface = surface_of_route(request.scope.get("route"))
    try:
        resolve_resources(access, gate.resolver, params)
        check_scope(access, gate.scope)
    except ForgeError as refusal:
        return Admission(access, access.bucket, refusal)
    # An answer from the idempotency store spends `read` instead of the route's bucket.
    replayed = pending is not None and idempotency.answered_from_store(access, pending)
    return Admission(access, "read" if replayed else access.bucket)


async def admit(request: Request, gate: Gate, params: Mapping[str, str]) -> Access:
    """Stages 1–6 for one request; the `Access` the route gets."""
    state = request.app.state
    database: Database = state.database
    address = caller_ip(request, state.settings)
    throttling.refuse_blocked_address(request, address)
    # A POST spending `read` or nothing is a query (the redirect test call): it changes
    # nothing, so its Idempotency-Key is ignored, never stored.
    stored = bucket_for(request.method, gate.bucket) not in ("read", "free")
    pending = await idempotency.pending(request) if stored else None
    try:
        token = bearer_token(request, gate.api_key_header)
        opens_session = gate.resolver is not None and gate.resolver.session
        run = database.run if opens_session else database.run_reads
        admission = await run(
            _identify_and_authorise, request, gate, params, token, address, pending
        )
    except AuthenticationFailed:
        await throttling.count_failed_authentication(request, address)
        raise
    access = admission.access
    access.close_reads()  # on PostgreSQL the loop's: the route's own reads open their own
    if database.embedded:
        # The unit ran on the event loop, and a writer's SQLite session holds the database's
        # write lock from its first statement. Stage 3 may await Redis: the next request on
        # the loop would then wait on that lock with the loop blocked, stalling both until
        # the busy timeout. End the (read-only so far) transaction first; the unit goes on.
        access.end_transaction()
    await throttling.spend(request, access.principal, admission.spend)
    if admission.refusal is not None:
        raise admission.refusal
    if pending is not None:
        await database.run(idempotency.check, access, pending)  # stage 6: replay or claim
    return access
