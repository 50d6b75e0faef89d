"""Ports for the servers the tests start: never the same one twice at once, across xdist
workers and across test runs on the machine. Asking the kernel for port 0 and closing it hands
the next caller (another worker, or the same test's second server) the very same port, and a
server that then fails to bind leaves its test talking to someone else's server. So each worker
takes its ports from its own block below the kernel's ephemeral range (32768+), where no client
socket ever holds one, and reserves each port it hands out with a lock file that it holds until
it exits: another test run (a second checkout, `pytest` beside `make test`) skips a reserved
port instead of probing it free in the moment before its owner binds it."""

from __future__ import annotations

import fcntl
import itertools
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

BLOCK = 1500
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_BASE = 20000 + (int(_worker) if _worker.isdigit() else 0) % 8 * BLOCK
_next = itertools.count()
_LOCKS = Path(tempfile.gettempdir()) / "forge-test-ports"
_reserved: dict[int, IO[str]] = {}  # open for the life of this process: the reservations


def _reserve(port: int) -> bool:
    """Whether this process holds the port's lock now (taking it if nobody does)."""
    if port in _reserved:
        return True
    _LOCKS.mkdir(exist_ok=True)
    handle = (_LOCKS / str(port)).open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _reserved[port] = handle
    return True


def free_port() -> int:
    """A port of this worker's block that no other test process has reserved and nothing
    listens on now, not handed out before by this process (until the block wraps round)."""
    for _ in range(BLOCK):
        port = _BASE + next(_next) % BLOCK
        if not _reserve(port):
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port left in this worker's block")


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on `port` (any address), from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    found.add(inode)
    return found


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a socket listening on `port`."""
    sockets = {f"socket:[{inode}]" for inode in _listening_sockets(port)}
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") in sockets:
                return True
        except OSError:
            continue
    return False


def wait_serving(
    process: subprocess.Popen[bytes], port: int, output: Callable[[], str], deadline: float
) -> None:
    """Until `process` listens on `port` itself and answers `/healthz` there. A `/healthz` alone
    can be answered by someone else's server that took the port first (and then this one exits
    on its bind): that fails here, with this server's log, instead of passing for the other."""
    end = time.monotonic() + deadline
    base = f"http://127.0.0.1:{port}"
    while True:
        assert process.poll() is None, output()
        if listens(process.pid, port):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        assert time.monotonic() < end, output()
        time.sleep(0.05)
