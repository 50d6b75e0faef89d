"""A real `forge serve` process on a free 127.0.0.1 port, for behaviour only the server
process has (proxy headers, header limits, timeouts, restarts)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import httpx

from tests.ports import free_port, wait_serving

FORGE = str(Path(sys.executable).parent / "forge")
# Processes sharing a database share its master key (each has its own data dir).
SHARED_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


class ForgeServer:
    """`forge serve` against `database_url`; `env` adds or overrides FORGE_* variables."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        env: dict[str, str] | None = None,
        workers: int = 1,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FORGE_")},
            "FORGE_DATABASE_URL": database_url,
            "FORGE_DATA_DIR": str(data_dir),
            "FORGE_MASTER_KEY": SHARED_MASTER_KEY,
            **(env or {}),
        }
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.base, timeout=30)

    def start(self) -> ForgeServer:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *(FORGE, "serve", "--port", str(self.port)),
                    *("--workers", str(self.workers), "--edge-port", str(free_port())),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait_healthy()
        return self

    def wait_healthy(self, deadline_seconds: float = 120) -> None:
        assert self.process is not None
        wait_serving(self.process, self.port, self.output, deadline_seconds)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """`kill -9`: no shutdown hook runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        self.http.close()
        self.http = httpx.Client(base_url=self.base, timeout=30)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)

    def __enter__(self) -> ForgeServer:
        try:
            return self.start()
        except BaseException:
            self.stop()  # a server that never got healthy is still ended, never leaked
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self.http.close()
