"""A private Varnish for tests and benches: its own work directory, port and VCL, started in
the foreground (`-F`) so the caller owns the process and stops it by its pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tools.system_packages import ensure_varnish


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Varnish:
    def __init__(self, vcl: str, storage_bytes: int = 256 * 1024 * 1024) -> None:
        self.binary = ensure_varnish()
        self.vcl = vcl
        self.storage_bytes = storage_bytes
        self.port = _free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="forge-varnish-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, threads: int = 2) -> Varnish:
        vcl_file = self.workdir / "forge.vcl"
        vcl_file.write_text(self.vcl)
        # varnishd drops root for its own user, which must read the VCL.
        self.workdir.chmod(0o755)
        vcl_file.chmod(0o644)
        self.process = subprocess.Popen(
            [
                self.binary,
                "-F",
                "-a",
                f"127.0.0.1:{self.port}",
                "-f",
                str(vcl_file),
                "-n",
                str(self.workdir / "n"),
                "-s",
                f"malloc,{self.storage_bytes // (1024 * 1024)}m",
                "-p",
                f"thread_pool_min={threads * 5}",
                "-p",
                "thread_pools=1",
                "-p",
                "ban_lurker_sleep=0.01",
                # A purge names up to 2,000 labels in one header (forge.edge.varnish.client).
                "-p",
                "http_req_hdr_len=65536",
                "-p",
                "http_req_size=131072",
                "-T",
                "none",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"varnishd exited: {err[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("varnishd did not listen within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Varnish:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
