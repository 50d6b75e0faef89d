"""The two-command start for real: `forge init` then `forge serve` on embedded SQLite, over TCP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port as _free_port
from tests.ports import wait_serving

FORGE = str(Path(sys.executable).parent / "forge")

pytestmark = pytest.mark.skipif(
    os.environ.get("FORGE_TEST_DATABASE", "sqlite") != "sqlite",
    reason="embedded SQLite only: runs in the sqlite pass",
)


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["FORGE_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.fixture(params=[1, 2], ids=["one-process", "two-workers"])
def served(
    embedded_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                FORGE,
                "serve",
                "--port",
                str(port),
                "--workers",
                str(request.param),
                "--edge-port",
                str(_free_port()),
            ],
            env=embedded_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # Generous: two workers each import the whole app, on a machine other suites share.
        wait_serving(process, port, log.read_text, deadline=120)
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=30)


def _access_lines(log: Path, request_id: str) -> list[dict[str, object]]:
    """The request's access-log line(s), waiting for the worker that served it to write."""
    deadline = time.monotonic() + 30
    while True:
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
        found = [x for x in lines if x.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_init_then_serve_answers_with_the_first_key(
    embedded_env: dict[str, str], served: tuple[str, Path]
) -> None:
    init = subprocess.run(
        [FORGE, "init", "--json"], env=embedded_env, capture_output=True, check=True
    )
    created = json.loads(init.stdout)
    secret = created["key"]["secret"]
    site = created["sites"][0]
    base, log = served
    headers = {"Authorization": f"Bearer {secret}"}
    response = httpx.get(f"{base}/v1/sites/{site['id']}", headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["slug"] == site["slug"]
    assert response.headers["forge-version"] == "2026-06-23"
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    request_id = response.headers["request-id"]
    (line,) = _access_lines(log, request_id)
    assert line["path"] == f"/v1/sites/{site['id']}" and line["status"] == 200
    assert secret not in log.read_text()
    data_dir = Path(embedded_env["FORGE_DATA_DIR"])
    stored = b"".join(p.read_bytes() for p in data_dir.glob("forge.db*"))
    assert secret.split("_", 2)[2].encode() not in stored
