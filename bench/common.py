"""Shared bench plumbing: temporary Forge instances, wrk runs, process memory."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
# The benches make their throw-away PostgreSQL databases as the test suite does.
sys.path.insert(0, str(ROOT))

from tests.throwaway import postgres_database  # noqa: E402

__all__ = ["postgres_database"]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
        )
        found = shutil.which("wrk")
    assert found, "wrk could not be installed"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {port}")


@contextmanager
def forge_instance(
    extra_env: dict[str, str] | None = None, forge: Sequence[str] = (str(VENV_BIN / "forge"),)
) -> Iterator[tuple[dict, int, subprocess.Popen[bytes]]]:
    """`forge init` then `forge serve` on embedded SQLite in a temporary data dir (`forge`:
    the command that serves, for an arm that runs a variant of it)."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "FORGE_DATA_DIR": data_dir, **(extra_env or {})}
        env.pop("FORGE_DATABASE_URL", None) if "FORGE_DATABASE_URL" not in (
            extra_env or {}
        ) else None
        init = subprocess.run(
            [str(VENV_BIN / "forge"), "init", "--json"], env=env, check=True, capture_output=True
        )
        created = json.loads(init.stdout)
        created["data_dir"] = data_dir
        port = free_port()
        server = subprocess.Popen(
            [
                *forge,
                "serve",
                "--port",
                str(port),
                "--edge-port",
                str(free_port()),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_listening(port)
            yield created, port, server
        finally:
            server.terminate()
            server.wait(10)


def uvicorn_server(
    target: str, *options: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """An app of this folder served by the uvicorn CLI with the settings `forge serve` uses."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(VENV_BIN / "uvicorn"),
            target,
            *options,
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(port)
    return server, port


@contextmanager
def bare_instance() -> Iterator[int]:
    server, port = uvicorn_server("bare_app:app")
    try:
        yield port
    finally:
        server.terminate()
        server.wait(10)


def wrk(
    url: str, seconds: int, headers: dict[str, str] | None = None, connections: int = 16
) -> tuple[float, int]:
    """Requests per second and the count of non-2xx answers."""
    args = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", url]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, int(bad.group(1)) if bad else 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def migrate_and_init(env: dict[str, str]) -> dict[str, Any]:
    """`forge migrate` then `forge init --json` with `env`: what init created."""
    forge = str(VENV_BIN / "forge")
    subprocess.run([forge, "migrate"], env=env, check=True, capture_output=True)
    init = subprocess.run([forge, "init", "--json"], env=env, check=True, capture_output=True)
    created: dict[str, Any] = json.loads(init.stdout)
    return created


@contextmanager
def api_server(env: dict[str, str], workers: int = 1, log: Path | None = None) -> Iterator[int]:
    """`forge serve` without its job worker and edge, with `env` (its output to `log`): its
    port."""
    port = free_port()
    args = [str(VENV_BIN / "forge"), "serve", "--port", str(port), "--no-worker", "--no-edge"]
    with open(log or os.devnull, "ab") as output:
        server = subprocess.Popen(
            [*args, "--workers", str(workers)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_listening(port, timeout=60)
            yield port
        finally:
            server.terminate()
            server.wait(30)
