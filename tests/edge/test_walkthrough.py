"""The README's edge walkthrough, for real: `forge serve` (API, worker and edge in one process)
and `forge demo-origin`; fetch through the edge (MISS, then HIT), purge by tag with the seed's
call, wait on the job, fetch again (MISS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.edge.conftest import wait_for
from tests.ports import free_port as _free_port

FORGE = str(Path(sys.executable).parent / "forge")

pytestmark = pytest.mark.skipif(
    os.environ.get("FORGE_TEST_DATABASE", "sqlite") != "sqlite",
    reason="embedded SQLite only: runs in the sqlite pass",
)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[dict[str, str], str, str, str, Path]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["FORGE_DATA_DIR"] = str(tmp_path / "data")
    api_port, edge_port, origin_port = _free_port(), _free_port(), _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [FORGE, "serve", "--port", str(api_port), "--edge-port", str(edge_port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        origin = subprocess.Popen(
            [FORGE, "demo-origin", "--port", str(origin_port)], env=env, stdout=out, stderr=out
        )
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_for(lambda: serve.poll() is None and _up(f"{api}/healthz"), "forge serve", 30)
        wait_for(lambda: _up(f"http://127.0.0.1:{origin_port}/"), "the demo origin", 30)
        yield env, api, f"http://127.0.0.1:{edge_port}", f"http://127.0.0.1:{origin_port}", log
    finally:
        for process in (serve, origin):
            process.terminate()
            process.wait(timeout=30)


def test_fetch_through_the_edge_purge_by_tag_and_wait_on_the_job(
    processes: tuple[dict[str, str], str, str, str, Path],
) -> None:
    env, api, edge, origin, log = processes
    assert f"Forge edge listening on {edge}" in log.read_text()
    init = subprocess.run([FORGE, "init", "--json"], env=env, capture_output=True, check=True)
    created = json.loads(init.stdout)
    token = {"Authorization": f"Bearer {created['key']['secret']}"}
    site = created["sites"][0]
    production = next(e for e in site["environments"] if e["name"] == "production")
    environment = f"{api}/v1/sites/{site['id']}/environments/{production['id']}"
    patched = httpx.patch(
        environment,
        headers=token,
        json={"origin_url": origin, "hostnames": ["www.demo.test"]},
    )
    assert patched.status_code == 200, patched.text
    page = f"{edge}/products/1"
    host = {"Host": "www.demo.test"}
    wait_for(lambda: httpx.get(page, headers=host).status_code == 200, "the edge's new host")
    first = httpx.get(page, headers=host)
    again = httpx.get(page, headers=host)
    assert again.headers["forge-cache"] == "HIT" and again.text == first.text
    assert "surrogate-key" not in again.headers
    purge = httpx.post(
        f"{environment}/cache/purge",
        headers={
            **token,
            "Forge-Version": "2026-06-23",
            "Idempotency-Key": "purge-after-release-rel_01JE7",
            "Content-Type": "application/json",
        },
        content=b'{ "tags": ["product-1"] }',
    )
    assert purge.status_code == 202, purge.text
    job = httpx.get(f"{api}{purge.headers['location']}?wait=10", headers=token, timeout=15)
    data = job.json()["data"]
    assert data["status"] == "succeeded", data
    (proof,) = data["result"]["edges"]
    assert (proof["matched"], proof["evicted"]) == (1, 1)
    after = httpx.get(page, headers=host)
    assert after.headers["forge-cache"] == "MISS" and after.text != first.text
