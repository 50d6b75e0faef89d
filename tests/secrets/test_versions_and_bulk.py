"""Versions and restore, compare without revealing, dotenv import, concurrent sets."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.secrets import service
from forge.secrets.models import Secret, SecretVersion
from forge.sites.models import Environment
from tests.factories import SecretsWorld, World, principal_of, secrets_path


def _deploy_env(api: TestClient, w: SecretsWorld, env: Environment) -> dict[str, int]:
    response = api.post(
        f"/v1/sites/{w.site.id}/environments/{env.id}/deployments", headers=w.owner.headers
    )
    assert response.status_code == 201, response.text
    return {s["key"]: s["version"] for s in response.json()["data"]["secrets"]}


def test_every_set_is_a_version_and_restore_brings_an_old_value_back(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    for value in ("first-value", "second-value", "third-value"):
        api.put(secrets_path(w.env, "API_TOKEN"), json={"value": value}, headers=h)
    detail = api.get(secrets_path(w.env, "API_TOKEN"), headers=h).json()["data"]
    assert detail["version"] == 3
    assert [v["version"] for v in detail["versions"]] == [3, 2, 1]
    assert all(v["created_by"] for v in detail["versions"])
    restored = api.post(
        secrets_path(w.env, "API_TOKEN") + "/restore", json={"version": 1}, headers=h
    )
    assert restored.status_code == 200, restored.text
    data = restored.json()["data"]
    assert data["version"] == 4
    assert data["versions"][0] == {**data["versions"][0], "version": 4, "restored_from": 1}
    assert "first-value" not in restored.text
    # Restored means the same value: compare against an environment holding it says "same".
    other = world.environment(w.site, "staging")
    api.put(secrets_path(other, "API_TOKEN"), json={"value": "first-value"}, headers=h)
    compared = api.get(secrets_path(w.env, "compare"), params={"with": other.id}, headers=h).json()[
        "data"
    ]
    assert compared["keys"] == [{"key": "API_TOKEN", "status": "same"}]


def test_restore_of_a_missing_version_is_422(api: TestClient, w: SecretsWorld) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "API_TOKEN"), json={"value": "x"}, headers=h)
    for body, status in (({"version": 9}, 422), ({"version": 0}, 422), ({"v": 1}, 422)):
        response = api.post(secrets_path(w.env, "API_TOKEN") + "/restore", json=body, headers=h)
        assert response.status_code == status
    assert (
        api.post(
            secrets_path(w.env, "NOPE") + "/restore", json={"version": 1}, headers=h
        ).status_code
        == 404
    )


def test_compare_answers_per_key_without_values(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    staging = world.environment(w.site, "staging")
    api.post(
        secrets_path(w.env, "import"),
        json={"dotenv": "SAME=one\nDIFF=prod-value\nHERE=h\nEMPTY_BOTH=x"},
        headers=h,
    )
    api.post(
        secrets_path(staging, "import"),
        json={"dotenv": "SAME=one\nDIFF=staging-value\nTHERE=t"},
        headers=h,
    )
    api.post(secrets_path(staging), json={"key": "DECLARED_THERE"}, headers=h)
    api.put(secrets_path(w.env, "DECLARED_THERE"), json={"value": "v"}, headers=h)
    response = api.get(secrets_path(w.env, "compare"), params={"with": staging.id}, headers=h)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["env_id"] == w.env.id and data["with_env_id"] == staging.id
    assert {k["key"]: k["status"] for k in data["keys"]} == {
        "SAME": "same",
        "DIFF": "different",
        "HERE": "only_here",
        "EMPTY_BOTH": "only_here",
        "THERE": "only_there",
        "DECLARED_THERE": "different",
    }
    for plaintext in ("prod-value", "staging-value", '"one"'):
        assert plaintext not in response.text


def test_compare_with_an_environment_out_of_reach_is_404(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    foreign = world.environment(world.site(world.team()), "production")
    response = api.get(
        secrets_path(w.env, "compare"), params={"with": foreign.id}, headers=w.owner.headers
    )
    assert response.status_code == 404
    missing = api.get(secrets_path(w.env, "compare"), headers=w.owner.headers)
    assert missing.status_code == 422 and missing.json()["error"]["param"] == "with"


def test_import_sets_many_keeps_existing_unless_overwrite(api: TestClient, w: SecretsWorld) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "EXISTING"), json={"value": "old"}, headers=h)
    dotenv = (
        "# a comment\n"
        "export PLAIN=value one # trailing comment\n"
        'QUOTED="line1\\nline2 # not a comment"\n'
        "SINGLE='$literal'\n"
        "EXISTING=new\n"
        "\n"
    )
    response = api.post(secrets_path(w.env, "import"), json={"dotenv": dotenv}, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["set"] == ["PLAIN", "QUOTED", "SINGLE"]
    assert response.json()["data"]["kept"] == ["EXISTING"]
    existing = api.get(secrets_path(w.env, "EXISTING"), headers=h).json()["data"]
    assert existing["version"] == 1
    again = api.post(
        secrets_path(w.env, "import"), json={"dotenv": "EXISTING=new", "overwrite": True}, headers=h
    )
    assert again.json()["data"]["set"] == ["EXISTING"]
    assert api.get(secrets_path(w.env, "EXISTING"), headers=h).json()["data"]["version"] == 2


@pytest.mark.parametrize(
    ("dotenv", "message"),
    [
        ("GOOD=1\nno equals sign here\n", "line 2: expected NAME=value"),
        ("GOOD=1\nbad-name=2\n", "line 2: key: names must match"),
        ("GOOD=1\nFORGE_X=2\n", "line 2: key: names starting with FORGE_"),
        ('GOOD=1\nOPEN="unterminated\n', "line 2: unterminated double quote"),
        ("GOOD=1\nGOOD=2\n", "line 2: GOOD appears more than once"),
        ("", "no NAME=value lines"),
    ],
)
def test_bad_dotenv_is_422_naming_the_line_and_changes_nothing(
    api: TestClient, w: SecretsWorld, dotenv: str, message: str
) -> None:
    response = api.post(
        secrets_path(w.env, "import"), json={"dotenv": dotenv}, headers=w.owner.headers
    )
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]
    assert response.json()["error"]["param"] == "dotenv"
    assert api.get(secrets_path(w.env), headers=w.owner.headers).json()["data"] == []


def test_import_failing_half_way_leaves_nothing_changed(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "BEFORE"), json={"value": "kept"}, headers=h)
    before = api.get(secrets_path(w.env), headers=h).json()["data"]
    # Two good entries are applied (sealed, written) before the third fails its size rule.
    oversized = "x" * (64 * 1024 + 1)
    dotenv = f"FIRST=a\nBEFORE=changed\nTOO_BIG={oversized}\nLAST=z\n"
    response = api.post(
        secrets_path(w.env, "import"), json={"dotenv": dotenv, "overwrite": True}, headers=h
    )
    assert response.status_code == 422
    assert "line 3" in response.json()["error"]["message"]
    assert "rule: value_size" in response.json()["error"]["message"]
    assert api.get(secrets_path(w.env), headers=h).json()["data"] == before
    with world.database.session() as session:
        names = session.scalars(select(Secret.name).where(Secret.environment_id == w.env.id)).all()
        assert names == ["BEFORE"]
        assert session.scalar(select(SecretVersion).where(SecretVersion.version == 2)) is None


def test_import_body_must_be_json(api: TestClient, w: SecretsWorld) -> None:
    response = api.post(
        secrets_path(w.env, "import"),
        content=b"A=b\n",
        headers={**w.owner.headers, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_concurrent_sets_of_one_key_keep_versions_consistent(
    app: FastAPI, world: World, w: SecretsWorld
) -> None:
    database, keyring = world.database, app.state.keyring
    principal = principal_of(database, w.owner.secret)
    writers, per_writer = 4, 5
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(per_writer):
                with database.session() as session:
                    env = session.get_one(Environment, w.env.id)
                    change = service.NewValue("RACED", f"w{writer}-{i}")
                    service.set_value(session, keyring, principal, env, change)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.session() as session:
        secrets = session.scalars(select(Secret).where(Secret.name == "RACED")).all()
        assert len(secrets) == 1
        [secret] = secrets
        numbers = session.scalars(
            select(SecretVersion.version).where(SecretVersion.secret_id == secret.id)
        ).all()
        assert sorted(numbers) == list(range(1, writers * per_writer + 1))
        assert secret.latest_version == writers * per_writer


def test_deployed_flag_follows_the_active_deployment(api: TestClient, w: SecretsWorld) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "A_KEY"), json={"value": "1"}, headers=h)
    assert _deploy_env(api, w, w.env) == {"A_KEY": 1}
    assert api.get(secrets_path(w.env, "A_KEY"), headers=h).json()["data"]["deployed"] is True
    api.put(secrets_path(w.env, "A_KEY"), json={"value": "2"}, headers=h)
    assert api.get(secrets_path(w.env, "A_KEY"), headers=h).json()["data"]["deployed"] is False
    assert _deploy_env(api, w, w.env) == {"A_KEY": 2}
    assert api.get(secrets_path(w.env, "A_KEY"), headers=h).json()["data"]["deployed"] is True
