"""Encryption at rest: tampering and swapped rows fail loudly, the master key is checked at
start-up, rotation re-wraps under concurrent writes and loses nothing."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.testclient import TestClient

from forge.app import create_app
from forge.config import ConfigError, Settings, load_settings
from forge.crypto.envelope import DecryptionFailed
from forge.crypto.keyring import EMBEDDED_FILE, key_id_of, new_master_key, read_keyring_file
from forge.db import Database
from forge.deployments import service as deployments
from forge.secrets import masterkey, service
from forge.secrets.models import Secret, SecretVersion
from forge.sites.models import Environment
from tests.factories import SecretsWorld, World, principal_of, secrets_path


def _version(database: Database, name: str, number: int = 1) -> SecretVersion:
    with database.session() as session:
        return session.scalars(
            select(SecretVersion)
            .join(Secret, Secret.id == SecretVersion.secret_id)
            .where(Secret.name == name, SecretVersion.version == number)
        ).one()


def _deploy(api: TestClient, w: SecretsWorld) -> str:
    response = api.post(
        f"/v1/sites/{w.site.id}/environments/{w.env.id}/deployments", headers=w.owner.headers
    )
    assert response.status_code == 201, response.text
    deployment_id: str = response.json()["data"]["id"]
    return deployment_id


def _resolved(app: FastAPI, database: Database, deployment_id: str) -> dict[str, str]:
    with database.session() as session:
        return deployments.resolved_values(session, app.state.keyring, deployment_id).values


def test_embedded_master_key_is_generated_owner_only(app: FastAPI, settings: Settings) -> None:
    path = settings.data_dir / EMBEDDED_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keyring = read_keyring_file(path, "FORGE_MASTER_KEY_FILE")
    assert keyring.current_id == app.state.keyring.current_id


def test_values_round_trip_through_a_deployment(
    api: TestClient, app: FastAPI, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "ONE"), json={"value": "first ✓ value"}, headers=h)
    api.put(secrets_path(w.env, "TWO"), json={"value": ""}, headers=h)
    dep = _deploy(api, w)
    assert _resolved(app, world.database, dep) == {"ONE": "first ✓ value", "TWO": ""}


@pytest.mark.parametrize("column", ["ciphertext", "nonce", "wrapped_key"])
def test_tampered_rows_fail_loudly_and_return_nothing(
    api: TestClient, app: FastAPI, world: World, w: SecretsWorld, column: str
) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "GOOD"), json={"value": "fine"}, headers=h)
    api.put(secrets_path(w.env, "TAMPERED"), json={"value": "to-be-altered"}, headers=h)
    dep = _deploy(api, w)
    row = _version(world.database, "TAMPERED")
    original: bytes = getattr(row, column)
    flipped = bytes([original[0] ^ 0x01]) + original[1:]
    with world.database.session() as session:
        session.execute(
            update(SecretVersion).where(SecretVersion.id == row.id).values({column: flipped})
        )
    with pytest.raises(DecryptionFailed) as caught:
        _resolved(app, world.database, dep)
    assert "TAMPERED" in str(caught.value) and "to-be-altered" not in str(caught.value)
    # Over HTTP, a route that must open the value fails with a 500, the request id and no value.
    restored = api.post(
        secrets_path(w.env, "TAMPERED") + "/restore", json={"version": 1}, headers=h
    )
    assert restored.status_code == 500
    assert restored.json()["error"]["code"] == "internal"
    assert "to-be-altered" not in restored.text
    assert _version(world.database, "TAMPERED").version == 1  # nothing new was written


@pytest.mark.parametrize("swap", ["same key, other environment", "same environment, other key"])
def test_swapped_rows_fail_to_decrypt(
    api: TestClient, app: FastAPI, world: World, w: SecretsWorld, swap: str
) -> None:
    h = w.owner.headers
    staging = world.environment(w.site, "staging")
    api.put(secrets_path(w.env, "TARGET"), json={"value": "production-value"}, headers=h)
    api.put(secrets_path(w.env, "NEIGHBOUR"), json={"value": "neighbour-value"}, headers=h)
    api.put(secrets_path(staging, "TARGET"), json={"value": "staging-value"}, headers=h)
    dep = _deploy(api, w)
    with world.database.session() as session:
        versions = session.execute(
            select(Secret.environment_id, Secret.name, SecretVersion).join(
                SecretVersion, SecretVersion.secret_id == Secret.id
            )
        ).all()
        rows = {(env_id, name): row for env_id, name, row in versions}
        target = rows[(w.env.id, "TARGET")]
        source = (
            rows[(staging.id, "TARGET")]
            if swap == "same key, other environment"
            else rows[(w.env.id, "NEIGHBOUR")]
        )
        # A well-formed sealed value, copied whole (ciphertext, nonce, wrapped key) onto
        # another row: its associated data no longer matches.
        session.execute(
            update(SecretVersion)
            .where(SecretVersion.id == target.id)
            .values(
                ciphertext=source.ciphertext, nonce=source.nonce, wrapped_key=source.wrapped_key
            )
        )
    with pytest.raises(DecryptionFailed) as caught:
        _resolved(app, world.database, dep)
    assert "TARGET" in str(caught.value)


def test_wrong_master_key_stops_start_up(
    app: FastAPI, api: TestClient, settings: Settings, database: Database, w: SecretsWorld
) -> None:
    api.put(secrets_path(w.env, "SEALED"), json={"value": "v"}, headers=w.owner.headers)
    wrong = settings.model_copy(update={"master_key": new_master_key()})
    with pytest.raises(ConfigError) as caught:
        create_app(wrong, database)
    assert caught.value.variable == "FORGE_MASTER_KEY"
    assert "wrong master key" in str(caught.value)
    # The right key given explicitly starts fine.
    right = settings.model_copy(update={"master_key": app.state.keyring.current})
    assert create_app(right, database).state.keyring.current_id == app.state.keyring.current_id


def test_missing_master_key_stops_start_up(
    app: FastAPI, settings: Settings, database: Database, tmp_path: Path
) -> None:
    elsewhere = settings.model_copy(update={"data_dir": tmp_path / "fresh-data-dir"})
    with pytest.raises(ConfigError) as caught:
        create_app(elsewhere, database)
    assert "master key missing" in str(caught.value)
    assert not (tmp_path / "fresh-data-dir" / EMBEDDED_FILE).exists()


def test_bad_master_key_settings_name_the_variable(tmp_path: Path) -> None:
    cases = [
        ({"FORGE_MASTER_KEY": "not base64!"}, "FORGE_MASTER_KEY"),
        ({"FORGE_MASTER_KEY": "c2hvcnQ="}, "FORGE_MASTER_KEY"),
        ({"FORGE_MASTER_KEY_FILE": str(tmp_path / "absent")}, "FORGE_MASTER_KEY_FILE"),
    ]
    for env, variable in cases:
        with pytest.raises(ConfigError) as caught:
            load_settings({"FORGE_DATA_DIR": str(tmp_path), **env})
        assert caught.value.variable == variable
        assert str(caught.value).startswith(variable + ":")
    garbage = tmp_path / "keyring.json"
    garbage.write_text('{"current": "mk_x", "keys": []}')
    settings = load_settings(
        {"FORGE_DATA_DIR": str(tmp_path), "FORGE_MASTER_KEY_FILE": str(garbage)}
    )
    with pytest.raises(ConfigError, match="FORGE_MASTER_KEY_FILE"):
        masterkey.configured_keyring(settings)


def test_rotation_under_concurrent_writes_loses_nothing(
    api: TestClient, app: FastAPI, world: World, w: SecretsWorld
) -> None:
    database, keyring = world.database, app.state.keyring
    old_id = keyring.current_id
    dotenv = "\n".join(f"BULK_{i}=value-{i}" for i in range(300))
    api.post(secrets_path(w.env, "import"), json={"dotenv": dotenv}, headers=w.owner.headers)
    principal = principal_of(database, w.owner.secret)
    stop = threading.Event()
    written: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set() or i < 20:
                with database.session() as session:
                    env = session.get_one(Environment, w.env.id)
                    name, value = f"LIVE_{i % 7}", f"live-{i}"
                    service.set_value(
                        session, keyring, principal, env, service.NewValue(name, value)
                    )
                written.append((name, value))
                i += 1
        except BaseException as err:  # reported below
            errors.append(err)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = masterkey.rotate(database, keyring, batch=50)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert result.key_id != old_id and keyring.current_id == result.key_id
    masterkey.rewrap_all(database, keyring)  # catch writes sealed just before the switch
    with database.session() as session:
        ids = set(session.scalars(select(SecretVersion.master_key_id)).all())
    assert ids == {result.key_id}
    masterkey.retire(database, keyring, old_id)
    assert old_id not in read_keyring_file(keyring.path, "FORGE_MASTER_KEY_FILE").keys
    # Every value is intact under the new key alone: deploy and resolve them all.
    dep = _deploy(api, w)
    values = _resolved(app, database, dep)
    assert {values[f"BULK_{i}"] for i in range(300)} == {f"value-{i}" for i in range(300)}
    latest = dict(written)
    assert {name: values[name] for name in latest} == latest


def test_retire_refuses_the_current_key_and_keys_in_use(
    api: TestClient, app: FastAPI, world: World, w: SecretsWorld
) -> None:
    from forge.errors import Conflict, NotFound

    keyring = app.state.keyring
    api.put(secrets_path(w.env, "K"), json={"value": "v"}, headers=w.owner.headers)
    with pytest.raises(Conflict):
        masterkey.retire(world.database, keyring, keyring.current_id)
    with pytest.raises(NotFound):
        masterkey.retire(world.database, keyring, key_id_of(new_master_key()))
    old = keyring.current_id
    keyring_path = keyring.path
    assert keyring_path is not None
    # A rotation interrupted before re-wrapping leaves rows on the old key: retiring refuses.
    from forge.crypto.keyring import add_current_key

    add_current_key(keyring)
    with pytest.raises(Conflict, match="rewrap"):
        masterkey.retire(world.database, keyring, old)
    assert masterkey.rewrap_all(world.database, keyring) == 1
    masterkey.retire(world.database, keyring, old)
    assert os.path.exists(keyring_path)
