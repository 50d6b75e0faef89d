"""The edge's cache: entries in memory under a byte bound, LRU eviction, and indexes by
environment, tag and path so a purge touches only what it names.

A purge costs the same whatever else is cached: it touches only the entries it names (and the
index buckets it names), marking each one dead and taking it out of the counters. Where a dead
entry is still referenced — the map and its LRU order, its path, its other tags, its digest:
dictionaries as large as the store, a cache miss each — it is garbage, which lookups and index
reads skip, and which later puts reclaim a few at a time (and `top_tags` all at once, before it
counts). Garbage keeps its size charged against the byte bound until it is reclaimed, so the
bound holds for everything the store keeps alive, and is reclaimed before any live entry is
evicted to make room.

Pure: no HTTP server, no database. Times are `time.monotonic()` seconds, passed in.
"""

from __future__ import annotations

import heapq
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field

PAGE, OBJECT = "page", "object"

# Garbage reclaimed by every put beyond what it needs for room: garbage goes at twice the rate
# at which the store fills again, so what one purge leaves is gone by the time as many
# entries as it evicted have been stored again.
RECLAIM_PER_PUT = 2


class Entry:
    """One stored response. `head` is the status line and headers, ready to send, without
    `Age`, `Forge-Cache` and the blank line that ends them."""

    __slots__ = (
        "body",
        "counters",
        "digest",
        "env_id",
        "etag",
        "expires",
        "head",
        "initial_age",
        "is_page",
        "key",
        "last_modified",
        "live",
        "path",
        "primary",
        "size",
        "soft_purged",
        "stale_if_error",
        "stale_while_revalidate",
        "status",
        "stored_at",
        "tags",
    )

    def __init__(
        self,
        *,
        key: bytes,
        digest: bytes,
        env_id: str,
        path: str,
        is_page: bool,
        tags: tuple[str, ...],
        status: int,
        head: bytes,
        body: bytes,
        stored_at: float,
        ttl: float,
        initial_age: float = 0.0,
        stale_while_revalidate: float = 0.0,
        stale_if_error: float = 0.0,
        etag: bytes | None = None,
        last_modified: float | None = None,
        primary: bytes | None = None,
    ) -> None:
        self.key = key  # the cache key (forge.edge.cachekey): what the store is keyed by
        self.digest = digest  # its hash, sent as Forge-Cache-Hash
        self.env_id = env_id
        self.path = path
        self.is_page = is_page
        self.tags = tags
        self.status = status
        self.head = head
        self.body = body
        self.stored_at = stored_at
        self.initial_age = initial_age
        self.expires = stored_at + ttl
        self.stale_while_revalidate = stale_while_revalidate
        self.stale_if_error = stale_if_error
        self.etag = etag
        self.last_modified = last_modified
        self.primary = primary  # the key without its Vary part, when the response varies
        self.soft_purged = False
        self.counters = UNSTORED  # its environment's counters, once stored
        self.live = False  # stored and not purged: found by lookups, counted, matched by purges
        # What the entry costs: its bytes plus a fixed allowance for the object and indexes.
        self.size = len(head) + len(body) + 96 * (1 + len(tags)) + 2 * len(path) + len(key) + 320

    def fresh(self, now: float) -> bool:
        return now < self.expires and not self.soft_purged

    def age(self, now: float) -> int:
        return int(now - self.stored_at + self.initial_age)

    def refresh(self, now: float, ttl: float, swr: float, sie: float) -> None:
        """Fresh again after the origin confirmed it (a 304 to a revalidation)."""
        self.stored_at = now
        self.initial_age = 0.0
        self.expires = now + ttl
        self.stale_while_revalidate = swr
        self.stale_if_error = sie
        self.soft_purged = False

    @property
    def kind(self) -> str:
        return PAGE if self.is_page else OBJECT


@dataclass(frozen=True)
class Selector:
    """What one purge names; every list empty means everything of `type`."""

    type: str = "all"
    tags: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    cache_hashes: tuple[str, ...] = ()
    soft: bool = False

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Selector:
        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(
            type=str(data.get("type") or "all"),
            tags=strings("tags"),
            paths=strings("paths"),
            cache_hashes=strings("cache_hashes"),
            soft=data.get("mode") == "soft",
        )

    @property
    def names_nothing(self) -> bool:
        return not (self.tags or self.paths or self.cache_hashes)


@dataclass(frozen=True)
class PurgeOutcome:
    matched: int
    evicted: int
    marked_stale: int


@dataclass
class EnvCounters:
    """One environment's counters: hits and misses since start, entries and bytes by type."""

    hits: int = 0
    misses: int = 0
    stale: int = 0
    bypass: int = 0
    entries: dict[str, int] = field(default_factory=lambda: {PAGE: 0, OBJECT: 0})
    bytes: dict[str, int] = field(default_factory=lambda: {PAGE: 0, OBJECT: 0})


UNSTORED = EnvCounters()


def path_pattern(pattern: str) -> re.Pattern[str]:
    """`*` matches zero or more characters; everything else literally."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


class Store:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0  # what the live entries cost
        self.held = 0  # how many live entries there are
        # Cache key → entry, LRU first; a purged (dead) entry stays until it is reclaimed.
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.by_digest: dict[bytes, Entry] = {}  # Forge-Cache-Hash digest → entry
        # key without Vary → (Vary names, entries stored under it); only for varying responses
        self.variants: dict[bytes, tuple[tuple[str, ...], int]] = {}
        self.counters: dict[str, EnvCounters] = {}
        self._by_tag: dict[str, dict[str, set[Entry]]] = {}  # env → tag → entries
        self._by_path: dict[str, dict[str, set[Entry]]] = {}  # env → path → entries
        # Purged entries not yet reclaimed, oldest first, and what they cost until they are.
        self._garbage: deque[Entry] = deque()
        self.garbage_bytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return self.held

    def counters_for(self, env_id: str) -> EnvCounters:
        counters = self.counters.get(env_id)
        if counters is None:
            counters = self.counters[env_id] = EnvCounters()
        return counters

    def get(self, key: bytes) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None or not entry.live:
            return None
        self.entries.move_to_end(key)
        return entry

    def put(self, entry: Entry, vary: tuple[str, ...] = ()) -> bool:
        """Store (or replace) an entry, reclaiming garbage and then evicting the least recently
        used to stay under the bound. False when the entry alone exceeds the bound."""
        if entry.size > self.max_bytes:
            return False
        self.remove(entry.key)
        self._reclaim(RECLAIM_PER_PUT)
        while self.bytes + self.garbage_bytes + entry.size > self.max_bytes:
            if self._garbage:
                self._reclaim(1)
                continue
            # No garbage left, so none in the map: the least recently used entry is live.
            _, victim = self.entries.popitem(last=False)
            self._unlive(victim)
            self._unindex(victim)
            self.evictions += 1
        self.entries[entry.key] = entry
        self._index(entry, vary)
        return True

    def remove(self, key: bytes) -> None:
        """Drop the entry stored under the key (a dead one leaves the map; it stays garbage)."""
        entry = self.entries.pop(key, None)
        if entry is not None and entry.live:
            self._unlive(entry)
            self._unindex(entry)

    def _index(self, entry: Entry, vary: tuple[str, ...]) -> None:
        env = entry.env_id
        entry.live = True
        self.held += 1
        self.bytes += entry.size
        counters = entry.counters = self.counters_for(env)
        counters.entries[entry.kind] += 1
        counters.bytes[entry.kind] += entry.size
        self.by_digest[entry.digest] = entry
        self._by_path.setdefault(env, {}).setdefault(entry.path, set()).add(entry)
        if entry.tags:
            tags = self._by_tag.setdefault(env, {})
            for tag in entry.tags:
                tags.setdefault(tag, set()).add(entry)
        if entry.primary is not None:
            _, count = self.variants.get(entry.primary, (vary, 0))
            self.variants[entry.primary] = (vary, count + 1)

    def _unlive(self, entry: Entry) -> None:
        """An entry stops being found and counted; its Vary variants are one fewer. The map
        and the indexes may still reference it (the caller decides what is cleaned now)."""
        entry.live = False
        self.held -= 1
        self.bytes -= entry.size
        counters = entry.counters
        counters.entries[entry.kind] -= 1
        counters.bytes[entry.kind] -= entry.size
        state = self.variants.get(entry.primary) if entry.primary is not None else None
        if state is not None and entry.primary is not None:
            names, count = state
            if count <= 1:
                del self.variants[entry.primary]
            else:
                self.variants[entry.primary] = (names, count - 1)

    def _unindex(self, entry: Entry) -> None:
        """Drop an entry's index references (another entry may have its digest by now)."""
        if self.by_digest.get(entry.digest) is entry:
            del self.by_digest[entry.digest]
        paths = self._by_path.get(entry.env_id)
        if paths is not None:
            _discard(paths, entry.path, entry)
        tags = self._by_tag.get(entry.env_id) if entry.tags else None
        if tags is not None:
            for tag in entry.tags:
                _discard(tags, tag, entry)

    def _reclaim(self, most: int | None = None) -> None:
        """Take up to `most` (None: all) purged entries out of the map and the indexes,
        oldest first (a put of the same key may have taken one out of the map already)."""
        garbage, entries = self._garbage, self.entries
        count = len(garbage) if most is None else min(most, len(garbage))
        for _ in range(count):
            entry = garbage.popleft()
            self.garbage_bytes -= entry.size
            if entries.get(entry.key) is entry:
                del entries[entry.key]
            self._unindex(entry)

    def clear(self) -> int:
        """Drop every entry (hits and misses are kept); how many there were."""
        dropped = self.held
        for counters in self.counters.values():
            counters.entries.update({PAGE: 0, OBJECT: 0})
            counters.bytes.update({PAGE: 0, OBJECT: 0})
        self.entries.clear()
        self.by_digest.clear()
        self.variants.clear()
        self._by_tag.clear()
        self._by_path.clear()
        self._garbage.clear()
        self.bytes = self.garbage_bytes = self.held = 0
        return dropped

    def forget_variants(self, primary: bytes) -> None:
        """The origin stopped varying this key: look it up without Vary from now on."""
        self.variants.pop(primary, None)

    # Purge -----------------------------------------------------------------------------

    def _candidates(self, env_id: str, selector: Selector, named: list[str]) -> set[Entry]:
        """The live entries the selector names, `named` being its paths found in the index
        (index buckets may still hold garbage)."""
        paths = self._by_path.get(env_id, {})
        if selector.names_nothing:
            return {e for members in paths.values() for e in members if e.live}
        found: set[Entry] = set()
        tags = self._by_tag.get(env_id, {})
        for tag in selector.tags:
            found.update(e for e in tags.get(tag, ()) if e.live)
        for path in named:
            found.update(e for e in paths[path] if e.live)
        for hex_digest in selector.cache_hashes:
            try:
                digest = bytes.fromhex(hex_digest)
            except ValueError:
                continue
            entry = self.by_digest.get(digest)
            if entry is not None and entry.live and entry.env_id == env_id:
                found.add(entry)
        return found

    def _paths_named(self, env_id: str, patterns: tuple[str, ...]) -> list[str]:
        """The indexed paths of the environment the patterns name (exact, or with `*`)."""
        paths = self._by_path.get(env_id, {})
        named: list[str] = []
        for pattern in patterns:
            if "*" not in pattern:
                if pattern in paths:
                    named.append(pattern)
                continue
            regex = path_pattern(pattern)
            named.extend(path for path in paths if regex.fullmatch(path))
        return named

    def purge(self, env_id: str, selector: Selector, dry_run: bool = False) -> PurgeOutcome:
        """Evict (or, soft, mark stale) every entry of the environment the selector names
        within its type; a dry run only counts."""
        named = self._paths_named(env_id, selector.paths)
        entries = self._candidates(env_id, selector, named)
        matched = [e for e in entries if selector.type == "all" or e.kind == selector.type]
        if dry_run:
            return PurgeOutcome(len(matched), 0, 0)
        if selector.soft:
            for entry in matched:
                entry.soft_purged = True
            return PurgeOutcome(len(matched), 0, len(matched))
        for entry in matched:
            self._unlive(entry)
        self._garbage.extend(matched)
        self.garbage_bytes += sum(entry.size for entry in matched)
        if selector.type == "all":
            self._drop_buckets(env_id, selector, named)
        return PurgeOutcome(len(matched), len(matched), 0)

    def _drop_buckets(self, env_id: str, selector: Selector, named: list[str]) -> None:
        """After a purge of every type, the buckets it named hold only garbage: drop them
        whole, so the next purge of the same name does not walk what this one evicted."""
        if selector.names_nothing:
            self._by_tag.pop(env_id, None)
            self._by_path.pop(env_id, None)
            return
        tags = self._by_tag.get(env_id, {})
        for tag in selector.tags:
            tags.pop(tag, None)
        paths = self._by_path.get(env_id, {})
        for path in named:
            paths.pop(path, None)  # a path may be named twice

    # State -----------------------------------------------------------------------------

    def top_tags(self, env_id: str, limit: int = 20) -> list[tuple[str, int]]:
        self._reclaim()  # a bucket's length counts its entries once it holds no garbage
        tags = self._by_tag.get(env_id, {})
        best = heapq.nlargest(limit, tags.items(), key=lambda item: (len(item[1]), item[0]))
        return [(tag, len(members)) for tag, members in best]

    def paths(self, env_id: str) -> list[str]:
        """The paths of the environment's entries."""
        self._reclaim()  # a path is indexed while some entry of it is, garbage included
        return list(self._by_path.get(env_id, {}))


def _discard(index: dict[str, set[Entry]], name: str, entry: Entry) -> None:
    members = index.get(name)
    if members is not None:
        members.discard(entry)
        if not members:
            del index[name]
