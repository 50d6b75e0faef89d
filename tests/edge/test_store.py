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
