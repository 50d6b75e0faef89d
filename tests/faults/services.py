"""Private dependencies a fault test may stop, start and starve: a PostgreSQL cluster and a
Redis server of its own on free ports, and a small filesystem. The shared PostgreSQL (5432)
and Redis (6379) are never touched: other test runs use them at the same time."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.ports import free_port

DEADLINE = 30.0  # generous: the machine is shared and often loaded


def _binary(name: str) -> str:
    """A PostgreSQL server binary (not on PATH in Debian's layout), newest version first."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not found:
        pytest.skip(f"FAULT TESTS SKIPPED: no PostgreSQL server binaries ({name})")
    return found[0]


def _as_postgres() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    """A throw-away cluster (trust auth, 127.0.0.1 only) that a test stops and starts."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: its parents are root-only, and the server runs as
        # `postgres`, which must own the data directory.
        self.root = Path(tempfile.mkdtemp(prefix="forge-fault-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(
            _binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*_as_postgres(), *args], capture_output=True, text=True, timeout=DEADLINE
        )
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    def _ctl(self, *args: str) -> None:
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", *args)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._ctl("-t", str(int(DEADLINE)), "-o", options, "start")

    def stop(self) -> None:
        """A fast shutdown: open sessions are terminated, as in a restart for an upgrade."""
        self._ctl("-t", str(int(DEADLINE)), "-m", "fast", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server without persistence on a port of its own."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("FAULT TESTS SKIPPED: no redis-server")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.directory / f"redis-{self.port}.log").open("ab") as out:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + DEADLINE
        while not self._answers():
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server never answered PING"
            time.sleep(0.05)

    def _answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(DEADLINE)


class SmallDisk:
    """A size-limited tmpfs mounted on a fresh directory (needs root), unmounted at the end."""

    def __init__(self, directory: Path, megabytes: int) -> None:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("FAULT TESTS SKIPPED: mounting a small filesystem needs root")
        self.path = directory
        self.path.mkdir(parents=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"FAULT TESTS SKIPPED: cannot mount a tmpfs here: {done.stderr.strip()}")
        self.filler = directory / "filler"

    def fill(self) -> None:
        """Write until the filesystem refuses another byte (ENOSPC)."""
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 4096, 1):  # a short write leaves a tail for the next size
                try:
                    while os.write(descriptor, b"\0" * size):
                        pass
                except OSError:
                    continue
        finally:
            os.close(descriptor)
        assert shutil.disk_usage(self.path).free == 0

    def free(self) -> None:
        self.filler.unlink()

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=True, timeout=DEADLINE)
