"""Edge memory: 1,000,000 cached objects of 1 KiB (bar: under 2.5 GiB resident), and the byte
bound under a fill of twice its size (bar: bytes held never above FORGE_EDGE_CACHE_BYTES).

    python bench/edge_memory.py
"""

from __future__ import annotations

from edge_common import edge_process, hosted_data_dir, origin

MILLION = 1_000_000
BOUND = 64 * 1024 * 1024


def main() -> None:
    with origin() as origin_url:
        data_dir, _, _ = hosted_data_dir(origin_url)
        with edge_process(data_dir, cache_bytes=4 * 1024**3) as (_, _, empty):
            baseline = float(empty["rss_mb"])
        with edge_process(data_dir, objects=MILLION, size=1024, cache_bytes=4 * 1024**3) as (
            _,
            _,
            full,
        ):
            rss = float(full["rss_mb"])
        print(f"empty edge: {baseline:,.0f} MB resident")
        print(
            f"{int(full['entries']):,} objects of 1 KiB: {rss:,.0f} MB resident "
            f"({(rss - baseline) * 1024 * 1024 / MILLION:,.0f} B per object beyond the empty "
            f"process; accounted {int(full['bytes']) / 1024**2:,.0f} MB)  (bar: < 2,560 MB)"
        )
        # Each object costs its accounted size; fill twice the bound's worth.
        per_object = int(full["bytes"]) // MILLION
        objects = 2 * BOUND // per_object
        with edge_process(data_dir, objects=objects, size=1024, cache_bytes=BOUND) as (_, _, r):
            held = int(r["bytes"])
            print(
                f"bound {BOUND / 1024**2:.0f} MiB, filled with {objects:,} objects "
                f"({objects * per_object / 1024**2:.0f} MiB): holds {int(r['entries']):,} "
                f"entries, {held / 1024**2:.1f} MiB, {int(r['evictions']):,} evicted, "
                f"{float(r['rss_mb']):,.0f} MB resident  "
                f"(bar: held <= bound: {'yes' if held <= BOUND else 'NO'})"
            )


if __name__ == "__main__":
    main()
