"""A live `forge serve` on a free port against the test database, and `mf` run as a
subprocess against it, the way a user runs both."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from forge.config import Settings
from forge.db import Database
from tests.factories import Key, SecretsWorld, World
from tests.ports import free_port

BIN = Path(sys.executable).parent
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


class LiveServer:
    """`forge serve` as its own process; `url` is where it listens."""

    def __init__(self, database_url: str, data_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
        env.update(
            FORGE_DATABASE_URL=database_url,
            FORGE_DATA_DIR=str(data_dir),
            FORGE_MASTER_KEY=MASTER_KEY,
            FORGE_KEY_USAGE_FLUSH_SECONDS="3600",
            **settings,
        )
        with self.log.open("wb") as out:
            # Its in-process edge gets a free port of its own too.
            self.process = subprocess.Popen(
                [
                    str(BIN / "forge"),
                    "serve",
                    "--port",
                    str(self.port),
                    "--edge-port",
                    str(free_port()),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The in-process app seals secrets under the live server's master key: they share the
    database (and its record of which keys sealed what)."""
    return settings.model_copy(update={"master_key": base64.b64decode(MASTER_KEY)})


@pytest.fixture(scope="module")
def live(
    database_url: str, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = LiveServer(database_url, tmp_path_factory.mktemp("live") / "data")
    yield server
    server.stop()


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, (self.code, self.out, self.err)
        return json.loads(self.out)  # exactly one JSON document, nothing else


@dataclass
class Mf:
    """`mf` as a subprocess, with its own HOME and config directory."""

    url: str
    home: Path
    token: str | None = None

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FORGE_", "XDG_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            FORGE_API_URL=self.url,
            NO_COLOR="1",
            COLUMNS="200",
        )
        if self.token is not None:
            env["FORGE_TOKEN"] = self.token
        env.update(extra or {})
        return env

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Run:
        done = subprocess.run(
            [str(BIN / "mf"), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.env(env),
            timeout=120,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def json(self, *args: str, input: str | None = None) -> Any:
        return self(*args, "--json", input=input).json()


@pytest.fixture
def place(world: World) -> SecretsWorld:
    """A team, its owner's key, a test-mode site and its `production` environment."""
    return SecretsWorld.make(world)


@pytest.fixture
def mf(live: LiveServer, place: SecretsWorld, tmp_path: Path) -> Mf:
    home = tmp_path / "home"
    home.mkdir()
    return Mf(live.url, home, place.owner.secret)


def key_without(world: World, place: SecretsWorld, *missing: str) -> Key:
    from forge.keys import scopes as catalogue

    return world.key(
        place.team,
        world.member(place.team, "owner"),
        scopes=sorted(set(catalogue.ALL_SCOPES) - set(missing)),
    )
