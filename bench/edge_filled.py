"""An edge process exactly as `forge edge` runs it, optionally pre-filled with N entries
before it serves (filling a million objects through HTTP misses would take minutes).

The entries go in through the relay's own storing code (`Relay._store`), so they are what the
edge builds from an origin response; requests are then answered by the real server.

    python bench/edge_filled.py PORT OBJECTS SIZE     (prints "ready rss_mb=… entries=…")
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import uvloop

from forge.config import load_settings
from forge.db import Database
from forge.edge import cachekey, policy
from forge.edge.relay import Plan
from forge.edge.runner import RunningEdge, start_edge
from forge.notify import build_notifier

FILL_HOST = b"bench.example.test"


def fill(running: RunningEdge, objects: int, size: int) -> None:
    env_id = next(iter(running.edge.config.environments))
    body = b"f" * size
    for i in range(objects):
        target = b"/fill/%d" % i
        key = cachekey.primary_key(FILL_HOST, target)
        plan = Plan(
            env_id=env_id,
            path=target.decode(),
            primary=key,
            key=key,
            digest=cachekey.digest(key),
            vary=(),
            status=200,
            headers=[
                (b"Content-Type", b"application/octet-stream"),
                (b"Cache-Control", b"public, max-age=86400"),
                (b"ETag", b'"%d"' % i),
                (b"Date", b"Tue, 01 Dec 2026 20:00:00 GMT"),
                (b"Via", b"1.1 forge-edge"),
            ],
            is_page=False,
            tags=(f"group-{i % 100}", f"object-{i}"),
            freshness=policy.Freshness(86400.0, 0.0, 0.0),
            initial_age=0.0,
            etag=b'"%d"' % i,
            last_modified=None,
        )
        running.edge.relay._store(plan, body)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main(port: int, objects: int, size: int) -> None:
    settings = load_settings()
    # As `forge edge` does: woken by LISTEN/NOTIFY on PostgreSQL, by its polls on SQLite.
    notifier = build_notifier(settings.database_url)
    database = Database(settings.database_url)
    running = await start_edge(settings, database, "127.0.0.1", port, notifier)
    fill(running, objects, size)
    store = running.edge.store
    print(
        f"ready rss_mb={rss_mb():.0f} entries={len(store)} bytes={store.bytes}"
        f" max_bytes={store.max_bytes} evictions={store.evictions}",
        flush=True,
    )
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await running.stop()
    notifier.close()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
