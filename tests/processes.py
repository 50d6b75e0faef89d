"""Real Forge processes for tests: `forge serve` and `forge worker` on the test database."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.ports import free_port, wait_serving

FORGE = str(Path(sys.executable).parent / "forge")
# Processes sharing a database share its master key (each has its own data dir here).
SHARED_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
DEADLINE = 60.0  # generous: the machine is shared and often loaded


def forge_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env.update(
        FORGE_DATABASE_URL=database_url,
        FORGE_DATA_DIR=str(data_dir),
        FORGE_MASTER_KEY=SHARED_MASTER_KEY,
    )
    env.update(extra)
    return env


class ForgeProcess:
    """One `forge …` process with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [FORGE, *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while text not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(DEADLINE)


class ForgeServer(ForgeProcess):
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port, self.edge_port = free_port(), free_port()
        args = ["serve", "--port", str(self.port), "--edge-port", str(self.edge_port)]
        super().__init__(args, env, log)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_serving(self.process, self.port, self.output, DEADLINE)
