"""Secrets at scale, on embedded SQLite, one command: `.venv/bin/python bench/secret_lists.py`.

1. The effective secret list of an environment with 1,000 keys (half inherited through a
   two-level chain) against one with 100 keys, side by side: bar ≤ 10× (linear cost, no query
   per key). Measured on the service (what every list route runs) and on `GET …/secrets`.
2. Master-key rotation of 100,000 secret versions: bar under 60 s.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert
from starlette.testclient import TestClient

from forge import migrate
from forge.app import create_app
from forge.config import load_settings
from forge.crypto.keyring import Keyring
from forge.db import Database
from forge.ids import new_id
from forge.keys import scopes
from forge.keys import service as keys
from forge.secrets import masterkey
from forge.secrets.listing import entries
from forge.secrets.models import Secret, SecretVersion
from forge.secrets.values import seal_version
from forge.sites.models import Environment, Site
from forge.tenancy import service as tenancy
from forge.tenancy.schemas import TeamCreate

ROUNDS = 50
ROTATION_VERSIONS = 100_000


def _chain(database: Database, site_id: str, label: str) -> list[Environment]:
    """grandparent ← parent ← child, returned child first."""
    with database.session() as session:
        top = Environment(site_id=site_id, name=f"{label}-grand")
        session.add(top)
        session.flush()
        middle = Environment(site_id=site_id, name=f"{label}-parent", parent_id=top.id)
        session.add(middle)
        session.flush()
        child = Environment(site_id=site_id, name=f"{label}-child", parent_id=middle.id)
        session.add(child)
        session.flush()
        return [child, middle, top]


def _fill(database: Database, keyring: Keyring, chain: list[Environment], total: int) -> None:
    """Half the keys on the child, a quarter on each ancestor, each with one sealed version."""
    child, middle, top = chain
    placement = [(child, total // 2), (middle, total // 4), (top, total - total // 2 - total // 4)]
    with database.session() as session:
        number = 0
        for detached, count in placement:
            env = session.get_one(Environment, detached.id)
            for _ in range(count):
                name = f"KEY_{number:05d}"
                number += 1
                secret = Secret(environment_id=env.id, name=name, has_value=True, latest_version=1)
                session.add(secret)
                session.flush()
                session.add(seal_version(keyring, env, secret.id, name, 1, b"bench-value"))
        session.flush()


def _once_service(database: Database, env_id: str) -> float:
    with database.session() as session:
        env = session.get_one(Environment, env_id)
        started = time.perf_counter()
        assert entries(session, env)
        return time.perf_counter() - started


def _once_http(client: TestClient, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(path, params={"limit": 100}, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return elapsed


def _interleaved(small: Callable[[], float], large: Callable[[], float]) -> tuple[float, float]:
    """Medians of alternating runs, so a noisy neighbour hits both sides alike."""
    small_runs, large_runs = [], []
    for _ in range(ROUNDS):
        small_runs.append(small())
        large_runs.append(large())
    return statistics.median(small_runs), statistics.median(large_runs)


def _rotation(database: Database, keyring: Keyring, env: Environment) -> float:
    """100,000 versions of 1,000 keys, sealed in bulk, then one timed rotation."""
    with database.session() as session:
        env = session.get_one(Environment, env.id)
        secret_ids = []
        for i in range(1000):
            secret = Secret(environment_id=env.id, name=f"ROT_{i:04d}", has_value=True)
            session.add(secret)
            secret_ids.append((secret, f"ROT_{i:04d}"))
        session.flush()
        per_key = ROTATION_VERSIONS // 1000
        rows = []
        for secret, name in secret_ids:
            secret.latest_version = per_key
            for version in range(1, per_key + 1):
                sealed = seal_version(keyring, env, secret.id, name, version, b"rotation-value")
                rows.append(
                    {
                        "id": new_id("secv"),
                        "secret_id": secret.id,
                        "version": version,
                        "ciphertext": sealed.ciphertext,
                        "nonce": sealed.nonce,
                        "wrapped_key": sealed.wrapped_key,
                        "master_key_id": sealed.master_key_id,
                    }
                )
        session.execute(insert(SecretVersion), rows)
    started = time.perf_counter()
    result = masterkey.rotate(database, keyring)
    elapsed = time.perf_counter() - started
    assert result.rewrapped >= ROTATION_VERSIONS, result
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"FORGE_DATA_DIR": tmp})
        Path(tmp).mkdir(exist_ok=True)
        database = Database(settings.database_url)
        migrate.upgrade(database)
        app = create_app(settings.model_copy(), database)
        keyring: Keyring = app.state.keyring
        with database.session() as session:
            team = tenancy.create_team(session, TeamCreate(slug="bench", name="Bench"))
            client = tenancy.create_client(session, team.id, "b@example.com", "owner")
            project = tenancy.default_project(session, team.id)
            site = Site(team_id=team.id, project_id=project.id, slug="s", name="S", mode="test")
            session.add(site)
            session.flush()
            minted = keys.mint(
                session,
                owner=keys.KeyOwner(team_id=team.id, client_id=client.id),
                mode="test",
                name="bench",
                scopes=sorted(scopes.ALL_SCOPES),
                created_by=None,
            )
            site_id, secret = site.id, minted.secret
        small = _chain(database, site_id, "small")
        large = _chain(database, site_id, "large")
        _fill(database, keyring, small, 100)
        _fill(database, keyring, large, 1000)
        small_s, large_s = _interleaved(
            lambda: _once_service(database, small[0].id),
            lambda: _once_service(database, large[0].id),
        )
        headers = {"Authorization": f"Bearer {secret}"}
        base = f"/v1/sites/{site_id}/environments"
        with TestClient(app) as http:
            small_h, large_h = _interleaved(
                lambda: _once_http(http, f"{base}/{small[0].id}/secrets", headers),
                lambda: _once_http(http, f"{base}/{large[0].id}/secrets", headers),
            )
        print(
            f"effective list, service: 100 keys {small_s * 1000:.2f} ms, "
            f"1,000 keys {large_s * 1000:.2f} ms, ratio {large_s / small_s:.1f}x (bar 10x)"
        )
        print(
            f"effective list, GET limit=100: 100 keys {small_h * 1000:.2f} ms, "
            f"1,000 keys {large_h * 1000:.2f} ms, ratio {large_h / small_h:.1f}x (bar 10x)"
        )
        rotation = _rotation(database, keyring, small[0])
        print(
            f"rotation of {ROTATION_VERSIONS:,} versions: {rotation:.1f} s (bar 60 s), "
            f"{os.cpu_count()} cpus"
        )
        ok = large_s / small_s <= 10 and large_h / small_h <= 10 and rotation < 60
        database.dispose()
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
