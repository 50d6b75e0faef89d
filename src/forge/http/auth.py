"""Authentication and authorisation for routes: one typed dependency per scope.

`Scoped("sites:read", resolve_site)` authenticates the Bearer key, checks the IP allowlist,
loads the path's resources through the resolver (404 when outside the key's team, mode or
constraint), and only then checks the scope (403), so a key never learns that something it
cannot see exists. It opens the request's database session and commits it when the route
returns, before the response is sent.

Database work runs on the event loop, not in a thread pool: measured, each thread-pool hop
costs more than a whole indexed SQLite query, and the GIL serialises the work anyway. A process
therefore runs one query at a time; capacity comes from more processes (`forge serve --workers`).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from forge.config import IPNetwork, Settings
from forge.db import Database
from forge.errors import AuthenticationFailed, IpNotAllowed
from forge.http import client_ip, idempotency, ratelimits
from forge.keys import principal as principals
from forge.keys.principal import Principal


@dataclass
class Access:
    """What a route gets: the caller, the path's resources (already checked), and a database
    session opened on first use and committed when the route returns."""

    database: Database
    principal: Principal
    client_ip: str
    resources: dict[str, Any] = field(default_factory=dict)
    bucket: Bucket = "read"
    _session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.database.sessions()
        return self._session

    def end_transaction(self) -> None:
        """Commit what the session did so far (reads, in practice); it carries on afterwards
        in a new transaction, its loaded objects still usable."""
        if self._session is not None:
            self._session.commit()

    def finish(self, failed: bool) -> None:
        if self._session is None:
            return
        try:
            if failed:
                self._session.rollback()
            else:
                self._session.commit()
        finally:
            self._session.close()


Resolver = Callable[[Access, dict[str, str]], None]
Bucket = Literal["read", "write", "create", "free"]


def bucket_for(method: str, declared: Bucket | None) -> Bucket:
    if declared is not None:
        return declared
    if method in ("GET", "HEAD"):
        return "read"
    return "create" if method == "POST" else "write"


API_KEY_HEADER = "x-api-key"


def bearer_token(request: Request, api_key_header: bool = False) -> str:
    """The key from `Authorization: Bearer`; on the routes that document it (seed 001's
    clear-cache), from `x-api-key` when no Authorization header is sent."""
    header = request.headers.get("authorization")
    if not header and api_key_header:
        token = request.headers.get(API_KEY_HEADER, "").strip()
        if not token:
            raise AuthenticationFailed("No API key: send it as `x-api-key: <key>`.")
        return token
    if not header:
        raise AuthenticationFailed("No API key: send it as `Authorization: Bearer <key>`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Malformed Authorization header: expected `Bearer <key>`.")
    return token.strip()


def caller_ip(request: Request, settings: Settings) -> str:
    socket_ip = request.client.host if request.client else "0.0.0.0"  # noqa: S104
    return client_ip.resolve(
        socket_ip, request.headers.get("x-forwarded-for"), settings.trusted_proxies
    )


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


def authenticate(request: Request, api_key_header: bool = False) -> Access:
    state = request.app.state
    database: Database = state.database
    address = caller_ip(request, state.settings)
    ratelimits.refuse_blocked_address(request, address)
    principal = principals.resolve(database.reader, bearer_token(request, api_key_header))
    request.state.key_prefix = principal.key_prefix
    check_ip_allowlist(principal, address)
    state.usage.record(principal, address)
    return Access(database=database, principal=principal, client_ip=address)


def finish_request(request: Request, failed: bool) -> None:
    """Commit (or roll back) the session a route used; called by `ForgeRoute`."""
    access: Access | None = getattr(request.state, "access", None)
    if access is not None:
        access.finish(failed)


def Scoped(
    scope: str | None,
    resolver: Resolver | None = None,
    *,
    bucket: Bucket | None = None,
    api_key_header: bool = False,
) -> Any:
    """A dependency granting `scope` (None: any valid key) after resolving the path.

    `bucket` names the rate-limit bucket the route spends from; by default GET/HEAD spend
    `read`, POST `create`, other methods `write`. Action POSTs (roll, purge, …) pass "write";
    introspection routes pass "free". `api_key_header` also accepts the key in `x-api-key`
    (only where a documented surface says so). A POST's Idempotency-Key is looked up before spending
    (an answer from the store spends `read`) and claimed once the path and scope checks pass."""

    async def dependency(request: Request) -> Access:
        try:
            access = authenticate(request, api_key_header)
        except AuthenticationFailed:
            address = caller_ip(request, request.app.state.settings)
            await ratelimits.count_failed_authentication(request, address)
            raise
        access.bucket = bucket_for(request.method, bucket)
        request.state.access = access
        # A POST spending `read` is a query (the redirect test call): it changes nothing, so
        # its Idempotency-Key is ignored, never stored.
        stored = access.bucket not in ("read", "free")
        answered = await idempotency.stored_answer(request, access) if stored else None
        await ratelimits.spend(request, access.principal, "read" if answered else access.bucket)
        if answered is not None:
            raise answered
        if resolver is not None:
            resolver(access, request.path_params)
        if scope is not None:
            access.principal.require(scope)
        if stored:
            idempotency.claim(request, access)
        return access

    # Read by forge.http.openapi to document each operation's scope and bucket.
    dependency.forge_scope = scope  # type: ignore[attr-defined]
    dependency.forge_bucket = bucket  # type: ignore[attr-defined]
    dependency.forge_api_key_header = api_key_header  # type: ignore[attr-defined]
    return Depends(dependency)
