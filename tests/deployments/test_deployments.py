"""Deployments snapshot effective secret versions; the operator CLI resolves their values."""

from __future__ import annotations

import json

from sqlalchemy import select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from forge.audit.models import AuditEvent
from forge.cli.main import app as cli
from forge.config import Settings
from forge.secrets.models import SecretVersion
from tests.factories import SecretsWorld, World, secrets_path


def _deployments(w: SecretsWorld, env_id: str | None = None) -> str:
    return f"/v1/sites/{w.site.id}/environments/{env_id or w.env.id}/deployments"


def _cli(settings: Settings, database_url: str, *args: str) -> tuple[int, str, str]:
    env = {"FORGE_DATA_DIR": str(settings.data_dir), "FORGE_DATABASE_URL": database_url}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_deployment_snapshots_versions_and_origin(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    staging = world.environment(w.site, "staging", parent=w.env, origin_url="https://s.example")
    api.put(secrets_path(w.env, "INHERITED"), json={"value": "p"}, headers=h)
    api.put(secrets_path(staging, "OWN"), json={"value": "s1"}, headers=h)
    api.put(secrets_path(staging, "OWN"), json={"value": "s2"}, headers=h)
    api.post(secrets_path(staging), json={"key": "NO_VALUE"}, headers=h)
    created = api.post(_deployments(w, staging.id), headers=h)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["id"].startswith("dep_")
    assert data["origin_url"] == "https://s.example"
    assert data["active"] is True
    assert data["secrets"] == [
        {"key": "INHERITED", "version": 1, "source_environment_id": w.env.id},
        {"key": "OWN", "version": 2, "source_environment_id": staging.id},
    ]
    # Later changes wait for the next deployment.
    api.put(secrets_path(staging, "OWN"), json={"value": "s3"}, headers=h)
    again = api.get(f"{_deployments(w, staging.id)}/{data['id']}", headers=h).json()["data"]
    assert again["secrets"][1]["version"] == 2
    second = api.post(_deployments(w, staging.id), headers=h).json()["data"]
    listed = api.get(_deployments(w, staging.id), headers=h).json()
    assert [d["id"] for d in listed["data"]] == [second["id"], data["id"]]
    assert [d["active"] for d in listed["data"]] == [True, False]
    with world.database.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "deployment.created")
        ).first()
        assert event is not None and event.data["keys"] == ["INHERITED", "OWN"]


def test_required_keys_without_value_block_a_deployment(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    api.post(secrets_path(w.env), json={"key": "NEEDED_A", "required": True}, headers=h)
    api.post(secrets_path(w.env), json={"key": "NEEDED_B", "required": True}, headers=h)
    api.put(secrets_path(w.env, "NEEDED_B"), json={"value": "x"}, headers=h)
    refused = api.post(_deployments(w), headers=h)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["param"] == "secrets"
    assert "NEEDED_A" in error["message"] and "NEEDED_B" not in error["message"]
    assert error["missing_secrets"] == ["NEEDED_A"]
    assert api.get(_deployments(w), headers=h).json()["data"] == []
    api.put(secrets_path(w.env, "NEEDED_A"), json={"value": "y"}, headers=h)
    assert api.post(_deployments(w), headers=h).status_code == 201


def test_deployment_scopes_and_reach(api: TestClient, world: World, w: SecretsWorld) -> None:
    reader = world.key(w.team, world.member(w.team), scopes=["deployments:read"])
    assert api.post(_deployments(w), headers=reader.headers).status_code == 403
    assert api.get(_deployments(w), headers=reader.headers).status_code == 200
    stranger = world.owner_key()
    assert api.get(_deployments(w), headers=stranger.headers).status_code == 404
    dep = api.post(_deployments(w), headers=w.owner.headers).json()["data"]["id"]
    staging = world.environment(w.site, "staging")
    # A deployment is only found under its own environment.
    assert (
        api.get(f"{_deployments(w, staging.id)}/{dep}", headers=w.owner.headers).status_code == 404
    )


def test_operator_cli_prints_resolved_values(
    api: TestClient, w: SecretsWorld, settings: Settings, database_url: str
) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "QUOTED"), json={"value": 'a "b"\nc'}, headers=h)
    api.put(secrets_path(w.env, "PLAIN"), json={"value": "plain"}, headers=h)
    dep = api.post(_deployments(w), headers=h).json()["data"]["id"]
    code, out, err = _cli(settings, database_url, "admin", "deployments", "env", dep)
    assert code == 0, err
    assert out == 'PLAIN="plain"\nQUOTED="a \\"b\\"\\nc"\n'
    code, out, err = _cli(
        settings, database_url, "admin", "deployments", "env", dep, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out) == {"PLAIN": "plain", "QUOTED": 'a "b"\nc'}
    code, out, err = _cli(settings, database_url, "admin", "deployments", "env", "dep_nope")
    assert code == 2 and "not_found" in err and out == ""


def test_operator_cli_refuses_to_print_a_tampered_snapshot(
    api: TestClient, world: World, w: SecretsWorld, settings: Settings, database_url: str
) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "FIRST"), json={"value": "intact-value"}, headers=h)
    api.put(secrets_path(w.env, "SECOND"), json={"value": "other-value"}, headers=h)
    dep = api.post(_deployments(w), headers=h).json()["data"]["id"]
    with world.database.session() as session:
        session.execute(update(SecretVersion).values(nonce=b"\x00" * 12))
    code, out, err = _cli(settings, database_url, "admin", "deployments", "env", dep)
    assert code == 2
    assert out == ""
    assert "refusing to print anything" in err and "intact-value" not in err


def test_operator_cli_rotates_and_retires(
    api: TestClient, w: SecretsWorld, settings: Settings, database_url: str
) -> None:
    api.put(secrets_path(w.env, "K"), json={"value": "v"}, headers=w.owner.headers)
    code, out, err = _cli(settings, database_url, "admin", "master-key", "status")
    assert code == 0 and "current" in out
    old = out.split()[0]
    code, out, err = _cli(settings, database_url, "admin", "master-key", "rotate")
    assert code == 0, err
    assert "1 data keys re-wrapped" in out
    code, out, err = _cli(settings, database_url, "admin", "master-key", "retire", old)
    assert code == 0, err
    code, out, err = _cli(settings, database_url, "admin", "master-key", "status")
    assert old not in out
    # The running app re-reads the keyring and keeps serving: a new value, then a deployment.
    assert (
        api.put(secrets_path(w.env, "K"), json={"value": "w"}, headers=w.owner.headers).status_code
        == 200
    )
    dep = api.post(_deployments(w), headers=w.owner.headers).json()["data"]["id"]
    code, out, err = _cli(settings, database_url, "admin", "deployments", "env", dep)
    assert code == 0 and out == 'K="w"\n'
