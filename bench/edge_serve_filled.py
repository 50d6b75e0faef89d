"""`forge serve` on embedded defaults (API, in-process job worker and edge on one event loop,
as forge.edge.runner runs them), with the edge pre-filled with N objects before it serves.

    python bench/edge_serve_filled.py API_PORT EDGE_PORT OBJECTS
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
import uvloop

from edge_filled import fill, rss_mb
from forge.app import create_app
from forge.config import load_settings
from forge.db import Database
from forge.edge.runner import start_edge


async def main(api_port: int, edge_port: int, objects: int) -> None:
    settings = load_settings()
    database = Database(settings.database_url)
    app = create_app(settings, database)
    running = await start_edge(settings, database, "127.0.0.1", edge_port, app.state.notifier)
    fill(running, objects, 1024)
    print(f"ready rss_mb={rss_mb():.0f} entries={len(running.edge.store)}", flush=True)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=api_port, log_config=None, access_log=False, loop="none"
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await running.stop()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
