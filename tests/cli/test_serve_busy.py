"""`forge serve` on an address something else holds: it fails at once, naming the address, and
never says it listens."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.processes import DEADLINE, FORGE, forge_env


@pytest.fixture
def occupied() -> Iterator[int]:
    """A port that another socket listens on for the test's length."""
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        yield port


def serve(args: list[str], database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FORGE, "serve", *args],
        env=forge_env(database_url, data_dir),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


def assert_refused(done: subprocess.CompletedProcess[str], what: str, port: int) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert (
        done.stderr == f"forge: {what} cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert done.stdout == "", "nothing said to listen"


@pytest.mark.parametrize(("busy", "what"), [("--port", "the API"), ("--edge-port", "the edge")])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_busy_port_fails_naming_it(
    occupied: int, busy: str, what: str, workers: str, database_url: str, tmp_path: Path
) -> None:
    ports = {"--port": str(free_port()), "--edge-port": str(free_port()), busy: str(occupied)}
    args = ["--workers", workers, *(x for pair in ports.items() for x in pair)]
    assert_refused(serve(args, database_url, tmp_path / "data"), what, occupied)


def test_serve_with_no_edge_on_a_busy_port_fails_naming_it(
    occupied: int, database_url: str, tmp_path: Path
) -> None:
    done = serve(["--no-edge", "--port", str(occupied)], database_url, tmp_path / "data")
    assert_refused(done, "the API", occupied)
