"""The edge's state and its slow path: misses, revalidation, request coalescing, bypass.

One `Edge` per process: the cache store, the configuration snapshot, the origin pools and
what its agent tells it. The purge job counts an edge down once its heartbeat is older than
the lease, and stops waiting for it; so the edge serves from its cache only while both its
last heartbeat and its last complete read of the purge log started less than the lease ago
(minus a margin for scheduling). Past that it answers from the origin (BYPASS) until it has
heartbeated and read the log again, which applies every purge it missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from time import monotonic
from typing import Any, Protocol

from forge.edge import cachekey, responses
from forge.edge.config import EdgeConfig, EnvConfig
from forge.edge.origin import OriginError, OriginPool
from forge.edge.relay import Relay
from forge.edge.request import Request
from forge.edge.store import Entry, PurgeOutcome, Selector, Store

log = logging.getLogger("forge.edge")

HIT, MISS, STALE, BYPASS = b"HIT", b"MISS", b"STALE", b"BYPASS"
TOP_TAGS_SECONDS = 5.0
CONTACT_MARGIN_SECONDS = 0.5


class Connection(Protocol):
    client_ip: str
    closed: bool

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def abort(self) -> None: ...


@dataclass(slots=True)
class Lookup:
    host: bytes
    primary: bytes  # the cache key without its Vary part
    key: bytes  # the full cache key (the primary when nothing varies)
    entry: Entry | None


class Edge:
    # A cache tier in front that revalidates its own copies sends conditionals worth keeping.
    forwards_conditionals = False

    def __init__(self, store: Store, origins: OriginPool, lease_seconds: float) -> None:
        self.store = store
        self.origins = origins
        self.config = EdgeConfig()
        # How long the edge trusts its cache without contact (the hit path compares against it).
        self.lease = lease_seconds - CONTACT_MARGIN_SECONDS
        started = monotonic()
        self.heartbeat_at = started  # monotonic start of the last successful heartbeat
        self.log_read_at = started  # monotonic start of the last read of the log to its end
        self.last_contact = started  # the older of the two
        self.inflight: dict[bytes, asyncio.Future[None]] = {}
        self.revalidating: dict[bytes, asyncio.Future[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections: set[Any] = set()
        self.relay = Relay(self)
        self._top_tags: dict[str, list[tuple[str, int]]] = {}
        self._tags_counted_at = -TOP_TAGS_SECONDS

    def stats(self) -> dict[str, Any]:
        """Per environment: entries and bytes by type, hits and misses since start, top tags
        (those recounted at most every TOP_TAGS_SECONDS: counting scans every tag)."""
        now = monotonic()
        recount = now - self._tags_counted_at >= TOP_TAGS_SECONDS
        if recount:
            self._tags_counted_at = now
        environments: dict[str, Any] = {}
        for env_id, counters in self.store.counters.items():
            if recount:
                self._top_tags[env_id] = self.store.top_tags(env_id)
            environments[env_id] = {
                "entries": dict(counters.entries),
                "bytes": dict(counters.bytes),
                "hits": counters.hits,
                "misses": counters.misses,
                "stale": counters.stale,
                "bypass": counters.bypass,
                "top_tags": [
                    {"tag": tag, "entries": count} for tag, count in self._top_tags.get(env_id, [])
                ],
            }
        return {"environments": environments}

    async def drop_cache(self) -> int:
        """Forget every cached response (purges this edge missed were trimmed from the log);
        how many there were."""
        return self.store.clear()

    async def apply_purge(self, env_id: str, selector: Selector, dry_run: bool) -> PurgeOutcome:
        """One purge of the log applied to this edge's cache tier (the built-in store here;
        forge.edge.varnish.tier applies it to Varnish)."""
        return self.store.purge(env_id, selector, dry_run)

    def contact(self, *, heartbeat: float | None = None, log_read: float | None = None) -> None:
        if heartbeat is not None:
            self.heartbeat_at = max(self.heartbeat_at, heartbeat)
        if log_read is not None:
            self.log_read_at = max(self.log_read_at, log_read)
        self.last_contact = min(self.heartbeat_at, self.log_read_at)

    def bypassing(self, now: float) -> bool:
        return now - self.last_contact > self.lease

    # Answers from the cache --------------------------------------------------------------

    def send_entry(
        self,
        conn: Connection | None,
        entry: Entry,
        method: bytes,
        headers: dict[bytes, bytes],
        label: bytes,
        keep_alive: bool,
        now: float,
    ) -> None:
        if conn is None:
            return
        tail = responses.tail(entry.age(now), label, keep_alive)
        if (b"if-none-match" in headers or b"if-modified-since" in headers) and not_modified(
            entry, headers
        ):
            conn.write(responses.not_modified(entry.head) + tail)
        elif method == b"HEAD":
            conn.write(entry.head + tail)
        else:
            conn.write(entry.head + tail + entry.body)

    def redirect(self, conn: Connection, env: EnvConfig, target: bytes, keep_alive: bool) -> bool:
        """Answer the environment's redirect for this target, if a rule matches."""
        assert env.redirects is not None
        path, _, query = target.partition(b"?")
        found = env.redirects(path.decode("latin-1"), query.decode("latin-1"))
        if found is None:
            return False
        status, location = found
        conn.write(
            responses.plain(
                status,
                f"Redirecting to {location}",
                label=BYPASS,
                keep_alive=keep_alive,
                extra=b"Location: " + location.encode("latin-1", "replace") + b"\r\n",
            )
        )
        return True

    def lookup(self, host: bytes, request: Request) -> Lookup:
        primary = key = cachekey.primary_key(host, request.target)
        varying = self.store.variants.get(primary)
        if varying is not None:
            key = cachekey.variant_key(primary, varying[0], request.headers)
        return Lookup(host, primary, key, self.store.get(key))

    # The slow path ------------------------------------------------------------------------

    async def serve(self, conn: Connection, request: Request) -> None:
        routed = self.config.route(request.headers.get(b"host", b""))
        if routed is None:
            conn.write(
                responses.plain(
                    421,
                    "Misdirected request: this edge serves no site at that host.",
                    label=BYPASS,
                    keep_alive=request.keep_alive,
                )
            )
            return
        host, env = routed
        if env.origin_url is None:
            conn.write(
                responses.plain(
                    502,
                    "Bad gateway: this environment has no origin configured.",
                    label=BYPASS,
                    keep_alive=request.keep_alive,
                )
            )
            return
        counters = self.store.counters_for(env.id)
        now = monotonic()
        if not request.cacheable_method or self.bypassing(now):
            counters.bypass += 1
            await self.relay.fetch(conn, request, env, host, None, BYPASS, store=False)
            return
        found = self.lookup(host, request)
        entry = found.entry
        if entry is not None and entry.fresh(now):
            counters.hits += 1
            self.send_entry(
                conn, entry, request.method, request.headers, HIT, request.keep_alive, now
            )
            return
        if entry is not None:
            await self._expired(conn, request, env, found, entry, now)
            return
        flight = self.inflight.get(found.key)
        if flight is not None:
            await asyncio.shield(flight)
            if self._hit_after_wait(conn, request, host, env):
                return
            counters.misses += 1
            await self.relay.fetch(conn, request, env, host, None, MISS, store=True)
            return
        counters.misses += 1
        await self._lead(
            self.inflight,
            found.key,
            self.relay.fetch(conn, request, env, host, None, MISS, store=True),
        )

    async def _expired(
        self,
        conn: Connection,
        request: Request,
        env: EnvConfig,
        found: Lookup,
        entry: Entry,
        now: float,
    ) -> None:
        """An entry past its freshness (or soft-purged): one request revalidates it; the
        others get it STALE if that is allowed, or wait for the revalidation."""
        counters = self.store.counters_for(env.id)
        in_grace = now < entry.expires + entry.stale_while_revalidate
        servable = entry.soft_purged or in_grace
        flight = self.revalidating.get(entry.key)
        if flight is not None:
            if servable:
                counters.stale += 1
                self.send_entry(
                    conn, entry, request.method, request.headers, STALE, request.keep_alive, now
                )
                return
            await asyncio.shield(flight)
            if self._hit_after_wait(conn, request, found.host, env):
                return
            counters.misses += 1
            await self.relay.fetch(conn, request, env, found.host, None, MISS, store=True)
            return
        if in_grace and not entry.soft_purged:
            counters.stale += 1
            self.send_entry(
                conn, entry, request.method, request.headers, STALE, request.keep_alive, now
            )
            task = asyncio.get_running_loop().create_task(
                self._lead(
                    self.revalidating,
                    entry.key,
                    self.relay.fetch(None, request, env, found.host, entry, MISS, store=True),
                )
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        counters.misses += 1
        await self._lead(
            self.revalidating,
            entry.key,
            self.relay.fetch(conn, request, env, found.host, entry, MISS, store=True),
        )

    def _hit_after_wait(
        self, conn: Connection, request: Request, host: bytes, env: EnvConfig
    ) -> bool:
        """After waiting on another request's fetch: answer from what it stored, if fresh."""
        found = self.lookup(host, request)
        now = monotonic()
        if found.entry is None or not found.entry.fresh(now) or self.bypassing(now):
            return False
        self.store.counters_for(env.id).hits += 1
        self.send_entry(
            conn, found.entry, request.method, request.headers, HIT, request.keep_alive, now
        )
        return True

    async def _lead(
        self,
        registry: dict[bytes, asyncio.Future[None]],
        key: bytes,
        work: Coroutine[Any, Any, None],
    ) -> None:
        """Run `work` as the one fetch of this key; others wait on the registry's future."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        registry[key] = future
        try:
            await work
        finally:
            del registry[key]
            future.set_result(None)

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.origins.aclose()


def _etag_matches(etag: bytes, header: bytes) -> bool:
    if header.strip() == b"*":
        return True
    wanted = etag.removeprefix(b"W/")
    return any(part.strip().removeprefix(b"W/") == wanted for part in header.split(b","))


def not_modified(entry: Entry, headers: dict[bytes, bytes]) -> bool:
    """Whether the client's conditional headers say its copy is current (RFC 9110 §13.2.2)."""
    if entry.status != 200:
        return False
    none_match = headers.get(b"if-none-match")
    if none_match is not None:
        return entry.etag is not None and _etag_matches(entry.etag, none_match)
    since = headers.get(b"if-modified-since")
    if since is None or entry.last_modified is None:
        return False
    from forge.edge.policy import parse_http_date

    at = parse_http_date(since.decode("latin-1"))
    return at is not None and entry.last_modified <= at


__all__ = ["BYPASS", "HIT", "MISS", "STALE", "Connection", "Edge", "OriginError"]
