"""The edge behind Varnish: every answer it would have stored goes to Varnish labelled instead,
and every purge of the log is applied to Varnish (`xkey`), with what Varnish reports recorded.

`LabellingStore` keeps nothing the edge could serve (so each request Varnish forwards is a
miss at the edge) and hands a body-less copy of each labelled entry to a `Mirror`, the edge's
index of what it has given Varnish: it expands path wildcards to the paths Varnish holds,
answers dry runs, and feeds `GET …/cache` (entries, bytes, top tags) as the built-in store does.
"""

from __future__ import annotations

import asyncio
import time
from time import monotonic

from forge.edge import responses
from forge.edge.origin import OriginPool
from forge.edge.request import Request
from forge.edge.runtime import Connection, Edge
from forge.edge.store import Entry, PurgeOutcome, Selector, Store, path_pattern
from forge.edge.varnish import labels
from forge.edge.varnish.client import VarnishClient
from forge.edge.varnish.vcl import READY_HOST, READY_PATH

# How long Varnish keeps an expired object with validators, to revalidate it with the origin
# (the built-in cache keeps expired entries until they are evicted).
KEEP_SECONDS = 86400


class Mirror(Store):
    """Body-less copies of what Varnish holds, indexed like the built-in cache."""

    def paths_matching(self, env_id: str, patterns: list[str]) -> list[str]:
        regexes = [path_pattern(p) for p in patterns]
        return [path for path in self.paths(env_id) if any(r.fullmatch(path) for r in regexes)]


class LabellingStore(Store):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self.mirror = Mirror(max_bytes)
        self.counters = self.mirror.counters  # one set of counters: the edge's and the mirror's

    def __len__(self) -> int:
        return len(self.mirror)

    def put(self, entry: Entry, vary: tuple[str, ...] = ()) -> bool:
        """Label the entry's head for Varnish (it is sent once, to Varnish, never kept here)."""
        # Varnish's beresp.ttl is what remains; an object with none is never found again,
        # so "stale at once" (stale-while-revalidate after the origin's Age) is a millisecond.
        remaining = max(entry.expires - entry.stored_at, 0.0)
        ttl = max(remaining, 0.001)
        validators = entry.etag is not None or entry.last_modified is not None
        tags = labels.object_labels(
            entry.env_id, entry.kind, entry.path, entry.tags, entry.digest.hex()
        )
        entry.head += (
            b"xkey: %s\r\nForge-Edge-TTL: %.3f\r\nForge-Edge-Expires: %.3f\r\n"
            b"Forge-Edge-SWR: %.3f\r\nForge-Edge-Keep: %d\r\n"
            b"Forge-Edge-Env: %s\r\nForge-Edge-Type: %s\r\nForge-Edge-Path: %s\r\n"
        ) % (
            " ".join(tags).encode(),
            ttl,
            time.time() + remaining,
            entry.stale_while_revalidate,
            KEEP_SECONDS if validators else 0,
            entry.env_id.encode(),
            entry.kind.encode(),
            entry.path.encode("latin-1", "replace"),
        )
        copy = Entry(
            key=entry.key,
            digest=entry.digest,
            env_id=entry.env_id,
            path=entry.path,
            is_page=entry.is_page,
            tags=entry.tags,
            status=entry.status,
            head=b"",
            body=b"",
            stored_at=entry.stored_at,
            ttl=entry.expires - entry.stored_at,
            primary=entry.primary,
        )
        copy.size = entry.size
        self.mirror.put(copy, vary)
        return True

    def top_tags(self, env_id: str, limit: int = 20) -> list[tuple[str, int]]:
        return self.mirror.top_tags(env_id, limit)


class VarnishEdge(Edge):
    # Varnish strips clients' conditionals on a miss and sends its own to revalidate a kept
    # object: those go to the origin, and its 304 back to Varnish.
    forwards_conditionals = True

    def __init__(
        self,
        store: LabellingStore,
        origins: OriginPool,
        lease_seconds: float,
        varnish: VarnishClient,
        varnish_addresses: frozenset[str] = frozenset({"127.0.0.1", "::1"}),
    ) -> None:
        super().__init__(store, origins, lease_seconds)
        self.labelling = store
        self.varnish = varnish
        self.varnish_addresses = varnish_addresses

    async def forget_everything(self) -> int:
        """Before the edge registers it counts as empty: so must its Varnish be."""
        return await self.varnish.purge([labels.ALL], soft=False)

    async def drop_cache(self) -> int:
        dropped = await self.forget_everything()
        self.labelling.mirror.clear()
        return dropped

    async def serve(self, conn: Connection, request: Request) -> None:
        if request.headers.get(b"host") == READY_HOST.encode() and request.path == READY_PATH:
            ready = not self.bypassing(monotonic())
            conn.write(
                responses.plain(
                    200 if ready else 503,
                    "ready" if ready else "catching up on the purge log",
                    label=b"BYPASS",
                    keep_alive=request.keep_alive,
                )
            )
            return
        if request.client_ip in self.varnish_addresses:
            # Varnish appended the client's address; only Varnish's own claim is trusted.
            forwarded = request.headers.get(b"x-forwarded-for", b"").rsplit(b",", 1)[-1].strip()
            if forwarded:
                request.client_ip = forwarded.decode("latin-1")
        await super().serve(conn, request)

    async def apply_purge(self, env_id: str, selector: Selector, dry_run: bool) -> PurgeOutcome:
        mirror = self.labelling.mirror
        if dry_run:
            return mirror.purge(env_id, selector, dry_run=True)
        wildcards = [p for p in selector.paths if "*" in p]
        expanded = mirror.paths_matching(env_id, wildcards) if wildcards else []
        names = labels.selector_labels(env_id, selector, expanded)
        count = await self.varnish.purge(names, selector.soft) if names else 0
        if wildcards and not selector.soft:
            # What this edge never gave Varnish (before a restart of Varnish's own) is still
            # named by a ban on the object's path.
            types = labels.types_of(selector)
            await asyncio.gather(
                *(self.varnish.ban(env_id, types, labels.ban_regex(p)) for p in wildcards)
            )
        mirror.purge(env_id, selector)
        if selector.soft:
            return PurgeOutcome(count, 0, count)
        return PurgeOutcome(count, count, 0)

    async def aclose(self) -> None:
        await super().aclose()
        await self.varnish.aclose()
