"""The edge's cache: entries in memory under a byte bound, LRU eviction, and indexes by
environment, tag and path so a purge touches only what it names.

Pure: no HTTP server, no database. Times are `time.monotonic()` seconds, passed in.
"""

from __future__ import annotations

import heapq
import re
from collections import OrderedDict
from dataclasses import dataclass, field

PAGE, OBJECT = "page", "object"


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
        self.bytes = 0
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()  # cache key → entry, LRU first
        self.by_digest: dict[bytes, bytes] = {}  # Forge-Cache-Hash digest → cache key
        # key without Vary → (Vary names, entries stored under it); only for varying responses
        self.variants: dict[bytes, tuple[tuple[str, ...], int]] = {}
        self.counters: dict[str, EnvCounters] = {}
        self._by_tag: dict[str, dict[str, set[bytes]]] = {}  # env → tag → keys
        self._by_path: dict[str, dict[str, set[bytes]]] = {}  # env → path → keys
        self.evictions = 0

    def __len__(self) -> int:
        return len(self.entries)

    def counters_for(self, env_id: str) -> EnvCounters:
        counters = self.counters.get(env_id)
        if counters is None:
            counters = self.counters[env_id] = EnvCounters()
        return counters

    def get(self, key: bytes) -> Entry | None:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, entry: Entry, vary: tuple[str, ...] = ()) -> bool:
        """Store (or replace) an entry, evicting the least recently used to stay under the
        bound. False when the entry alone exceeds the bound."""
        if entry.size > self.max_bytes:
            return False
        old = self.entries.get(entry.key)
        if old is not None:
            self._remove(old)
        while self.bytes + entry.size > self.max_bytes and self.entries:
            _, victim = self.entries.popitem(last=False)
            self._unindex(victim)
            self.evictions += 1
        self.entries[entry.key] = entry
        self._index(entry, vary)
        return True

    def remove(self, key: bytes) -> None:
        entry = self.entries.get(key)
        if entry is not None:
            self._remove(entry)

    def _remove(self, entry: Entry) -> None:
        del self.entries[entry.key]
        self._unindex(entry)

    def _index(self, entry: Entry, vary: tuple[str, ...]) -> None:
        env = entry.env_id
        self.bytes += entry.size
        counters = entry.counters = self.counters_for(env)
        counters.entries[entry.kind] += 1
        counters.bytes[entry.kind] += entry.size
        self.by_digest[entry.digest] = entry.key
        self._by_path.setdefault(env, {}).setdefault(entry.path, set()).add(entry.key)
        if entry.tags:
            tags = self._by_tag.setdefault(env, {})
            for tag in entry.tags:
                tags.setdefault(tag, set()).add(entry.key)
        if entry.primary is not None:
            _, count = self.variants.get(entry.primary, (vary, 0))
            self.variants[entry.primary] = (vary, count + 1)

    def _unindex(self, entry: Entry) -> None:
        env, key = entry.env_id, entry.key
        self.bytes -= entry.size
        del self.by_digest[entry.digest]
        counters = self.counters_for(env)
        counters.entries[entry.kind] -= 1
        counters.bytes[entry.kind] -= entry.size
        _discard(self._by_path[env], entry.path, key)
        if entry.tags:
            tags = self._by_tag[env]
            for tag in entry.tags:
                _discard(tags, tag, key)
        state = self.variants.get(entry.primary) if entry.primary is not None else None
        if state is not None and entry.primary is not None:
            names, count = state
            if count <= 1:
                del self.variants[entry.primary]
            else:
                self.variants[entry.primary] = (names, count - 1)

    def clear(self) -> int:
        """Drop every entry (hits and misses are kept); how many there were."""
        dropped = len(self.entries)
        for entry in list(self.entries.values()):
            self._remove(entry)
        return dropped

    def forget_variants(self, primary: bytes) -> None:
        """The origin stopped varying this key: look it up without Vary from now on."""
        self.variants.pop(primary, None)

    # Purge -----------------------------------------------------------------------------

    def _candidates(self, env_id: str, selector: Selector) -> set[bytes]:
        if selector.names_nothing:
            return {k for keys in self._by_path.get(env_id, {}).values() for k in keys}
        found: set[bytes] = set()
        tags = self._by_tag.get(env_id, {})
        for tag in selector.tags:
            found.update(tags.get(tag, ()))
        paths = self._by_path.get(env_id, {})
        for pattern in selector.paths:
            if "*" not in pattern:
                found.update(paths.get(pattern, ()))
                continue
            regex = path_pattern(pattern)
            for path, keys in paths.items():
                if regex.fullmatch(path):
                    found.update(keys)
        for hex_digest in selector.cache_hashes:
            try:
                digest = bytes.fromhex(hex_digest)
            except ValueError:
                continue
            key = self.by_digest.get(digest)
            if key is not None and self.entries[key].env_id == env_id:
                found.add(key)
        return found

    def purge(self, env_id: str, selector: Selector, dry_run: bool = False) -> PurgeOutcome:
        """Evict (or, soft, mark stale) every entry of the environment the selector names
        within its type; a dry run only counts."""
        entries = (self.entries[key] for key in self._candidates(env_id, selector))
        matched = [e for e in entries if selector.type == "all" or e.kind == selector.type]
        if dry_run:
            return PurgeOutcome(len(matched), 0, 0)
        if selector.soft:
            for entry in matched:
                entry.soft_purged = True
            return PurgeOutcome(len(matched), 0, len(matched))
        for entry in matched:
            self._remove(entry)
        return PurgeOutcome(len(matched), len(matched), 0)

    # State -----------------------------------------------------------------------------

    def top_tags(self, env_id: str, limit: int = 20) -> list[tuple[str, int]]:
        tags = self._by_tag.get(env_id, {})
        best = heapq.nlargest(limit, tags.items(), key=lambda item: (len(item[1]), item[0]))
        return [(tag, len(keys)) for tag, keys in best]


def _discard(index: dict[str, set[bytes]], name: str, key: bytes) -> None:
    members = index.get(name)
    if members is not None:
        members.discard(key)
        if not members:
            del index[name]
