"""Shared plumbing of the edge benches: an origin, a database with one hosted environment,
edge processes (optionally pre-filled), and nginx with proxy_cache in front of the origin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from common import free_port, wait_until_listening

HERE = Path(__file__).resolve().parent
HOST = "bench.example.test"
OBJECT = b"x" * 2048  # the ~2 KB object both caches serve


def ensure_nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "nginx"], check=True, stdout=subprocess.DEVNULL
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


class _Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Cache-Control", "public, max-age=86400")
        self.send_header("ETag", '"bench"')
        self.send_header("Surrogate-Key", "bench-object")
        self.send_header("Content-Length", str(len(OBJECT)))
        self.end_headers()
        self.wfile.write(OBJECT)


@contextmanager
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def hosted_data_dir(origin_url: str, database_url: str | None = None) -> tuple[str, str, str]:
    """A temporary FORGE_DATA_DIR (or the given database) with one environment served at
    HOST from `origin_url`: (data dir, database url, environment id)."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from forge import migrate
    from forge.db import Database
    from forge.sites.models import Environment, EnvironmentHostname, Site
    from forge.tenancy import service as tenancy
    from forge.tenancy.schemas import TeamCreate

    data_dir = tempfile.mkdtemp(prefix="forge-edge-bench-")
    url = database_url or f"sqlite:///{data_dir}/forge.db"
    database = Database(url)
    migrate.upgrade(database)
    with database.session() as session:
        team = tenancy.create_team(session, TeamCreate(slug=f"bench-{os.getpid()}", name="Bench"))
        project = tenancy.default_project(session, team.id)
        site = Site(team_id=team.id, project_id=project.id, slug="bench", name="Bench", mode="test")
        session.add(site)
        session.flush()
        env = Environment(site_id=site.id, name="production", origin_url=origin_url)
        env.hostname_rows = [EnvironmentHostname(hostname=HOST)]
        session.add(env)
        session.flush()
        env_id = env.id
    database.dispose()
    return data_dir, url, env_id


def bench_key(database_url: str, env_id: str) -> tuple[dict[str, str], str]:
    """Headers with a key of the bench environment's team (made as the operator makes one),
    and the environment's site id."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from forge.db import Database
    from forge.keys import scopes, service
    from forge.sites.models import Environment

    database = Database(database_url)
    with database.session() as session:
        env = session.get_one(Environment, env_id)
        minted = service.mint(
            session,
            owner=service.KeyOwner(team_id=env.site.team_id, client_id=None),
            mode="test",
            name="bench",
            scopes=sorted(scopes.TEAM_PRINCIPAL_RIGHTS),
            created_by=None,
        )
        site_id = env.site_id
    database.dispose()
    return {"Authorization": f"Bearer {minted.secret}"}, site_id


def purge_until_succeeded(
    http: httpx.Client, site_id: str, env_id: str, tag: str
) -> tuple[float, dict[str, Any]]:
    """Seconds from `POST …/cache/purge` of one tag until `GET /v1/jobs/{id}?wait=` answers
    `succeeded`, and the job's result (`http`: a client of the API with the key's headers)."""
    started = time.perf_counter()
    response = http.post(
        f"/v1/sites/{site_id}/environments/{env_id}/cache/purge", json={"tags": [tag]}
    )
    assert response.status_code == 202, response.text
    job = http.get(f"{response.headers['location']}?wait=10")
    took = time.perf_counter() - started
    data = job.json()["data"]
    assert data["status"] == "succeeded", data
    result: dict[str, Any] = data["result"]
    return took, result


@contextmanager
def edge_process(
    data_dir: str,
    *,
    objects: int = 0,
    size: int = 1024,
    cache_bytes: int = 256 * 1024 * 1024,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[str], int, dict[str, str]]]:
    """An edge process on a free port, pre-filled with `objects` entries of `size` bytes;
    yields it, its port and what it reported when ready (rss_mb, entries, bytes)."""
    port = free_port()
    env = {
        **os.environ,
        "FORGE_DATA_DIR": data_dir,
        "FORGE_EDGE_CACHE_BYTES": str(cache_bytes),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, str(HERE / "edge_filled.py"), str(port), str(objects), str(size)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        report: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("ready"):
                report = dict(part.split("=", 1) for part in line.split()[1:])
                break
        else:
            raise RuntimeError("the edge did not start")
        wait_until_listening(port)
        yield process, port, report
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def nginx(origin_url: str) -> Iterator[int]:
    """nginx (one worker) with proxy_cache in front of the origin."""
    binary = ensure_nginx()
    port = free_port()
    prefix = Path(tempfile.mkdtemp(prefix="forge-nginx-bench-"))
    (prefix / "cache").mkdir()
    (prefix / "logs").mkdir()
    (prefix / "temp").mkdir()
    for folder in (prefix, prefix / "cache", prefix / "temp"):
        folder.chmod(0o777)  # nginx's worker runs as an unprivileged user
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
error_log {prefix}/logs/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    proxy_cache_path {prefix}/cache keys_zone=bench:10m;
    proxy_temp_path {prefix}/temp;
    client_body_temp_path {prefix}/temp/body;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {origin_url};
            proxy_http_version 1.1;
            proxy_cache bench;
            proxy_cache_valid 200 1h;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(prefix, ignore_errors=True)
