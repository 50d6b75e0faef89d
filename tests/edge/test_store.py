"""The cache store on its own: the byte bound and LRU order, indexes kept exact, purge counts."""

from __future__ import annotations

from forge.edge import cachekey
from forge.edge.store import Entry, Selector, Store


def _entry(
    path: str,
    *,
    env: str = "env_a",
    tags: tuple[str, ...] = (),
    page: bool = False,
    body: bytes = b"x" * 100,
) -> Entry:
    return Entry(
        key=(key := cachekey.primary_key(env.encode(), path.encode())),
        digest=cachekey.digest(key),
        env_id=env,
        path=path.split("?", 1)[0],
        is_page=page,
        tags=tags,
        status=200,
        head=b"HTTP/1.1 200 OK\r\n",
        body=body,
        stored_at=0.0,
        ttl=60.0,
    )


def test_the_byte_bound_evicts_the_least_recently_used_first() -> None:
    size = _entry("/0").size
    store = Store(max_bytes=3 * size)
    entries = [_entry(f"/{i}") for i in range(3)]
    for entry in entries:
        assert store.put(entry)
    assert store.get(entries[0].key) is entries[0]  # /0 is now the most recent
    store.put(_entry("/3"))
    assert store.get(entries[1].key) is None
    assert store.get(entries[0].key) is entries[0]
    assert len(store) == 3 and store.bytes == 3 * size <= store.max_bytes
    assert store.evictions == 1


def test_a_fill_of_twice_the_bound_never_holds_more_than_the_bound() -> None:
    size = _entry("/000", tags=("t0",)).size
    store = Store(max_bytes=100 * size)
    for i in range(200):
        store.put(_entry(f"/{i:03d}", tags=(f"t{i % 7}",)))
        assert store.bytes <= store.max_bytes
    assert len(store) == 100 and store.evictions == 100
    # The indexes forgot the evicted entries: purging everything finds exactly what is held.
    assert store.purge("env_a", Selector(), dry_run=True).matched == 100
    assert sum(count for _, count in store.top_tags("env_a")) == 100


def test_an_entry_larger_than_the_bound_is_not_stored() -> None:
    store = Store(max_bytes=1000)
    assert not store.put(_entry("/big", body=b"x" * 2000))
    assert len(store) == 0 and store.bytes == 0


def test_replacing_an_entry_keeps_the_counts_exact() -> None:
    store = Store(max_bytes=1 << 20)
    store.put(_entry("/a", tags=("old",)))
    store.put(_entry("/a", tags=("new",)))
    assert len(store) == 1
    assert store.top_tags("env_a") == [("new", 1)]
    assert store.counters_for("env_a").entries == {"page": 0, "object": 1}


def test_purge_counts_and_the_type_filter() -> None:
    store = Store(max_bytes=1 << 20)
    store.put(_entry("/p", tags=("t",), page=True))
    store.put(_entry("/o", tags=("t",)))
    store.put(_entry("/o", env="env_b", tags=("t",)))
    soft = store.purge("env_a", Selector(tags=("t",), type="page", soft=True))
    assert (soft.matched, soft.evicted, soft.marked_stale) == (1, 0, 1)
    hard = store.purge("env_a", Selector(tags=("t",)))
    assert (hard.matched, hard.evicted, hard.marked_stale) == (2, 2, 0)
    assert len(store) == 1  # env_b's entry
    assert store.counters_for("env_a").bytes == {"page": 0, "object": 0}


def test_clear_drops_everything_and_keeps_the_hit_counters() -> None:
    store = Store(max_bytes=1 << 20)
    store.put(_entry("/a"))
    store.counters_for("env_a").hits = 5
    assert store.clear() == 1
    assert len(store) == 0 and store.bytes == 0 and store.counters_for("env_a").hits == 5


def _digest_selector(entry: Entry) -> Selector:
    return Selector(cache_hashes=(entry.digest.hex(),))


def test_a_purged_entry_is_gone_at_once_though_reclaimed_later() -> None:
    store = Store(max_bytes=1 << 20)
    gone, kept = _entry("/gone", tags=("t", "shared")), _entry("/kept", tags=("shared",))
    store.put(gone)
    store.put(kept)
    assert store.purge("env_a", Selector(tags=("t",))).evicted == 1
    assert store.get(gone.key) is None
    assert len(store) == 1 and store.bytes == kept.size
    assert store.counters_for("env_a").entries == {"page": 0, "object": 1}
    # Its other index references are garbage until reclaimed: no selector reaches it.
    assert store.purge("env_a", Selector(paths=("/gone",)), dry_run=True).matched == 0
    assert store.purge("env_a", _digest_selector(gone), dry_run=True).matched == 0
    assert store.purge("env_a", Selector(tags=("shared",)), dry_run=True).matched == 1
    assert store.purge("env_a", Selector(), dry_run=True).matched == 1
    assert store.garbage_bytes == gone.size
    assert store.top_tags("env_a") == [("shared", 1)]  # counting reclaims all garbage first
    assert store.garbage_bytes == 0 and gone.key not in store.entries


def test_a_refreshed_purged_entry_stays_purged() -> None:
    """A revalidation that began before the purge refreshes an entry no lookup finds again."""
    store = Store(max_bytes=1 << 20)
    entry = _entry("/r", tags=("t",))
    store.put(entry)
    store.purge("env_a", Selector(tags=("t",)))
    entry.refresh(1.0, 60.0, 0.0, 0.0)
    assert store.get(entry.key) is None and not entry.live


def test_puts_reclaim_garbage_so_fill_and_purge_cycles_stay_bounded() -> None:
    store = Store(max_bytes=1 << 30)
    for cycle in range(10):
        batch = [_entry(f"/{cycle}/{i}", tags=("t", f"own-{i}")) for i in range(100)]
        for entry in batch:
            store.put(entry)
        assert store.purge("env_a", Selector(tags=("t",))).evicted == 100
        # What is kept alive is the last purge's garbage, none older: the fill reclaimed it.
        assert len(store.entries) == 100
        assert store.garbage_bytes == sum(entry.size for entry in batch)
    store.put(_entry("/x"))
    store.put(_entry("/y"))
    assert len(store) == 2 and len(store.entries) == 98  # 100 + 2 stored − 2 × 2 reclaimed


def test_a_key_stored_again_after_its_purge_is_found_and_purged_anew() -> None:
    store = Store(max_bytes=1 << 20)
    store.put(_entry("/a", tags=("t",)))
    store.purge("env_a", Selector(tags=("t",)))
    again = _entry("/a", tags=("t",))
    store.put(again)
    store.top_tags("env_a")  # reclaiming the old /a leaves the new one indexed
    assert store.get(again.key) is again
    assert store.purge("env_a", _digest_selector(again), dry_run=True).matched == 1
    assert store.purge("env_a", Selector(paths=("/a",)), dry_run=True).matched == 1
    assert store.purge("env_a", Selector(tags=("t",))).evicted == 1
    assert len(store) == 0 and store.bytes == 0


def test_garbage_is_reclaimed_before_any_live_entry_is_evicted() -> None:
    size = _entry("/000", tags=("t",)).size
    store = Store(max_bytes=10 * size)
    for i in range(10):
        store.put(_entry(f"/{i:03d}", tags=("keep" if i == 0 else "drop",)))
    store.purge("env_a", Selector(tags=("drop",)))
    assert store.bytes + store.garbage_bytes == store.max_bytes
    first = _entry("/b-1", tags=("t",), body=b"x" * (100 + 4 * size))
    assert first.size == 5 * size
    store.put(first)  # needs more room than a put reclaims anyway
    assert store.evictions == 0 and len(store) == 2
    assert store.bytes + store.garbage_bytes == store.max_bytes
    second = _entry("/b-2", tags=("t",), body=b"x" * (100 + 4 * size))
    store.put(second)  # the garbage is all gone now: the least recently used goes
    assert store.evictions == 1 and store.garbage_bytes == 0
    assert store.get(_entry("/000").key) is None and store.get(first.key) is first
    assert store.bytes == store.max_bytes


def test_a_purge_after_lru_eviction_matches_only_what_is_held() -> None:
    size = _entry("/000", tags=("t",)).size
    store = Store(max_bytes=5 * size)
    for i in range(8):
        store.put(_entry(f"/{i:03d}", tags=("t",)))
    assert store.evictions == 3
    outcome = store.purge("env_a", Selector(paths=("/00*",)))
    assert (outcome.matched, outcome.evicted) == (5, 5)
    assert len(store) == 0 and store.counters_for("env_a").bytes == {"page": 0, "object": 0}


def test_a_purge_of_one_type_leaves_the_other_findable() -> None:
    store = Store(max_bytes=1 << 20)
    store.put(_entry("/p", tags=("t",), page=True))
    store.put(_entry("/o", tags=("t",)))
    assert store.purge("env_a", Selector(tags=("t",), type="page")).evicted == 1
    assert store.purge("env_a", Selector(tags=("t",)), dry_run=True).matched == 1
    assert store.top_tags("env_a") == [("t", 1)]
    assert store.purge("env_a", Selector(paths=("/*",))).evicted == 1
    assert len(store) == 0
