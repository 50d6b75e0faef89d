"""Two `forge serve` processes on one database agree at once: revocation, expiry, rolls; and a
process's recorded usage survives its clean shutdown."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import or_, select, update

from forge.clock import utcnow
from forge.db import Database
from forge.keys.models import ApiKey, KeySecret
from tests.factories import Key, World
from tests.ports import free_port as _free_port

FORGE = str(Path(sys.executable).parent / "forge")
SHARED_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "forge serve exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on {port}")


class Server:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "FORGE_DATABASE_URL": database_url,
            "FORGE_DATA_DIR": str(data_dir),
            "FORGE_KEY_USAGE_FLUSH_SECONDS": "3600",  # only the shutdown flush, in these tests
            # Processes sharing a database share its master key (separate data dirs here).
            "FORGE_MASTER_KEY": SHARED_MASTER_KEY,
        }
        self.process = subprocess.Popen(
            [FORGE, "serve", "--port", str(self.port), "--edge-port", str(_free_port())],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port, self.process)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def get(self, path: str, key: Key | str) -> httpx.Response:
        secret = key if isinstance(key, str) else key.secret
        return self.http.get(path, headers={"Authorization": f"Bearer {secret}"})

    def post(self, path: str, key: Key, body: object = None) -> httpx.Response:
        return self.http.post(path, headers=key.headers, json=body)

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture
def servers(
    database_url: str, database: Database, tmp_path: Path
) -> Iterator[tuple[Server, Server]]:
    first = Server(database_url, tmp_path / "a")
    try:
        second = Server(database_url, tmp_path / "b")
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_revocation_and_expiry_hold_on_the_next_request_in_every_process(
    servers: tuple[Server, Server], world: World, database: Database
) -> None:
    a, b = servers
    owner = world.owner_key()
    made = a.post("/v1/api-keys", owner, {"name": "bot", "scopes": ["sites:read"]}).json()["data"]
    assert b.get("/v1/api-keys/self", made["secret"]).status_code == 200
    assert a.http.delete(f"/v1/api-keys/{made['id']}", headers=owner.headers).status_code == 200
    assert b.get("/v1/api-keys/self", made["secret"]).status_code == 401
    assert a.get("/v1/api-keys/self", made["secret"]).status_code == 401

    assert b.get("/v1/api-keys/self", owner).status_code == 200
    with database.session() as session:
        session.execute(update(ApiKey).where(ApiKey.id == owner.id).values(expires_at=utcnow()))
    assert a.get("/v1/api-keys/self", owner).status_code == 401
    assert b.get("/v1/api-keys/self", owner).status_code == 401


def test_a_roll_in_one_process_cuts_the_old_secret_in_the_other(
    servers: tuple[Server, Server], world: World
) -> None:
    a, b = servers
    owner = world.owner_key()
    made = a.post("/v1/api-keys", owner, {"name": "bot", "scopes": ["sites:read"]}).json()["data"]
    rolled = a.post(f"/v1/api-keys/{made['id']}/roll", owner, {"grace": "0s"})
    assert rolled.status_code == 200
    assert b.get("/v1/api-keys/self", made["secret"]).status_code == 401
    assert b.get("/v1/api-keys/self", rolled.json()["data"]["secret"]).status_code == 200


def test_rolls_racing_through_two_processes_leave_at_most_two_live_secrets(
    servers: tuple[Server, Server], world: World, database: Database
) -> None:
    a, b = servers
    owner = world.owner_key()
    made = a.post("/v1/api-keys", owner, {"name": "bot", "scopes": ["sites:read"]}).json()["data"]
    statuses: list[int] = []
    start = threading.Barrier(6)

    def roll(server: Server) -> None:
        start.wait()
        statuses.append(server.post(f"/v1/api-keys/{made['id']}/roll", owner).status_code)

    threads = [threading.Thread(target=roll, args=(s,)) for s in (a, b) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) >= 1
    assert set(statuses) <= {200}
    now = utcnow()
    with database.session() as session:
        live = session.scalars(
            select(KeySecret).where(
                KeySecret.key_id == made["id"],
                KeySecret.revoked_at.is_(None),
                or_(KeySecret.expires_at.is_(None), KeySecret.expires_at > now),
            )
        ).all()
    assert len(live) == 2
    assert sum(1 for s in live if s.expires_at is None) == 1


def test_usage_recorded_in_memory_is_written_at_a_clean_shutdown(
    servers: tuple[Server, Server], world: World, database: Database
) -> None:
    _a, b = servers
    owner = world.owner_key()
    for _ in range(3):
        assert b.get("/v1/api-keys/self", owner).status_code == 200
    with database.session() as session:
        secret = session.scalars(select(KeySecret).where(KeySecret.key_id == owner.id)).one()
        assert secret.last_used_at is None  # nothing written per request
    b.stop()  # SIGTERM: the API's lifespan shutdown runs, then `forge serve` exits cleanly
    assert b.process.returncode == 0
    with database.session() as session:
        secret = session.scalars(select(KeySecret).where(KeySecret.key_id == owner.id)).one()
        assert secret.last_used_at is not None
        assert secret.last_used_ip == "127.0.0.1"
        assert utcnow() - secret.last_used_at < timedelta(minutes=5)


def test_the_seed_curl_examples_work_against_forge_serve(
    servers: tuple[Server, Server], world: World
) -> None:
    """`curl -X POST …/v1/api-keys` and `…/roll` exactly as the seed writes them (host aside)."""
    a, _b = servers
    team = world.team()
    site = world.site(team, mode="live")
    owner = world.owner_key(team, mode="live")
    headers = {
        **owner.headers,
        "Forge-Version": "2026-06-23",
        "Content-Type": "application/json",
    }
    body = (
        '{\n"name": "ci-deploy-bot",\n'
        '"scopes": ["sites:read", "deployments:write", "environments:write", "jobs:read"],\n'
        f'"resource": {{ "site": "{site.id}" }},\n"expires_in": "90d"\n}}'
    )
    create = a.http.post("/v1/api-keys", headers=headers, content=body)
    assert create.status_code == 201, create.text
    data = create.json()["data"]
    assert list(data) == [
        "id",
        "name",
        "secret",
        "prefix",
        "scopes",
        "resource",
        "expires_at",
        "created_at",
    ]
    assert data["secret"].startswith("mfk_live_") and data["resource"] == {"site": site.id}
    roll = a.http.post(
        f"/v1/api-keys/{data['id']}/roll", headers=headers, content='{ "grace": "24h" }'
    )
    assert roll.status_code == 200, roll.text
    rolled = roll.json()["data"]
    assert list(rolled) == ["id", "secret", "prefix", "previous_prefix", "previous_expires_at"]
    assert rolled["previous_prefix"] == data["prefix"]
    assert roll.json()["request_id"].startswith("req_")
