"""Ports for the servers the tests start: never the same one twice in a run, even across
xdist workers. Asking the kernel for port 0 and closing it hands the next caller (another
worker, or the same test's second server) the very same port, and a server that then fails to
bind leaves its test talking to someone else's server. Each worker takes its ports from its own
block below the kernel's ephemeral range (32768+), so no client socket ever holds one either.
FORGE_TEST_PORT_BASE moves the blocks, for two test runs on one machine (two checkouts)."""

from __future__ import annotations

import itertools
import os
import socket

BLOCK = 1500
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_BASE = (
    int(os.environ.get("FORGE_TEST_PORT_BASE", "20000"))
    + (int(_worker) if _worker.isdigit() else 0) % 8 * BLOCK
)
_next = itertools.count()


def free_port() -> int:
    """A port of this worker's block that nothing listens on now, not handed out before."""
    for _ in range(BLOCK):
        port = _BASE + next(_next) % BLOCK
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port left in this worker's block")
