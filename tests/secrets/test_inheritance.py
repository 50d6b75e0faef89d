"""Inheritance through environment parents: child wins, chains, tombstones, cycles."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factories import SecretsWorld, World, secrets_path


def _keys(api: TestClient, env_path: str, headers: dict[str, str]) -> dict[str, dict[str, object]]:
    response = api.get(env_path, params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["key"]: item for item in response.json()["data"]}


def test_child_wins_chains_flow_and_sources_are_shown(api: TestClient, world: World) -> None:
    w = SecretsWorld.make(world)
    h = w.owner.headers
    staging = world.environment(w.site, "staging", parent=w.env)
    preview = world.environment(w.site, "preview", parent=staging)
    api.put(secrets_path(w.env, "SHARED"), json={"value": "prod"}, headers=h)
    api.put(secrets_path(w.env, "ONLY_PROD"), json={"value": "p"}, headers=h)
    api.put(secrets_path(staging, "SHARED"), json={"value": "staging"}, headers=h)
    api.put(secrets_path(preview, "OWN"), json={"value": "x"}, headers=h)

    keys = _keys(api, secrets_path(preview), h)
    assert set(keys) == {"SHARED", "ONLY_PROD", "OWN"}
    assert keys["SHARED"]["source"] == {
        "environment_id": staging.id,
        "environment_name": "staging",
        "inherited": True,
    }
    assert keys["ONLY_PROD"]["source"]["environment_id"] == w.env.id  # type: ignore[index]
    assert keys["OWN"]["source"]["inherited"] is False  # type: ignore[index]
    # The parent is unaffected by its children.
    assert set(_keys(api, secrets_path(w.env), h)) == {"SHARED", "ONLY_PROD"}
    # One inherited key is readable by name, with its source.
    one = api.get(secrets_path(preview, "ONLY_PROD"), headers=h).json()["data"]
    assert one["source"]["inherited"] is True and one["versions"] == []


def test_tombstone_stops_an_inherited_key_and_deleting_it_restores_the_flow(
    api: TestClient, world: World
) -> None:
    w = SecretsWorld.make(world)
    h = w.owner.headers
    staging = world.environment(w.site, "staging", parent=w.env)
    api.put(secrets_path(w.env, "PAYMENTS_KEY"), json={"value": "live-thing"}, headers=h)
    stone = api.post(secrets_path(staging, "PAYMENTS_KEY") + "/tombstone", headers=h)
    assert stone.status_code == 201, stone.text
    assert stone.json()["data"]["tombstone"] is True
    assert stone.json()["data"]["has_value"] is False
    keys = _keys(api, secrets_path(staging), h)
    assert keys["PAYMENTS_KEY"]["tombstone"] is True
    assert keys["PAYMENTS_KEY"]["source"]["inherited"] is False  # type: ignore[index]
    # Deploying staging does not carry the parent's value.
    deployed = api.post(
        f"/v1/sites/{w.site.id}/environments/{staging.id}/deployments", headers=h
    ).json()["data"]
    assert deployed["secrets"] == []
    # A tombstone twice is a conflict; deleting it lets the key flow in again.
    assert (
        api.post(secrets_path(staging, "PAYMENTS_KEY") + "/tombstone", headers=h).status_code == 409
    )
    assert api.delete(secrets_path(staging, "PAYMENTS_KEY"), headers=h).status_code == 200
    keys = _keys(api, secrets_path(staging), h)
    assert keys["PAYMENTS_KEY"]["source"]["inherited"] is True  # type: ignore[index]
    # Setting a value over a tombstone is allowed: the child now has its own.
    api.post(secrets_path(staging, "PAYMENTS_KEY") + "/tombstone", headers=h)
    api.put(secrets_path(staging, "PAYMENTS_KEY"), json={"value": "mine"}, headers=h)
    keys = _keys(api, secrets_path(staging), h)
    assert keys["PAYMENTS_KEY"]["tombstone"] is False
    assert keys["PAYMENTS_KEY"]["has_value"] is True


def test_changes_to_an_inherited_key_happen_where_it_lives(api: TestClient, world: World) -> None:
    w = SecretsWorld.make(world)
    h = w.owner.headers
    staging = world.environment(w.site, "staging", parent=w.env)
    api.put(secrets_path(w.env, "INHERITED"), json={"value": "v"}, headers=h)
    for response in (
        api.delete(secrets_path(staging, "INHERITED"), headers=h),
        api.patch(secrets_path(staging, "INHERITED"), json={"required": True}, headers=h),
        api.post(secrets_path(staging, "INHERITED") + "/restore", json={"version": 1}, headers=h),
    ):
        assert response.status_code == 404


def test_inheritance_cycles_are_refused(api: TestClient, world: World) -> None:
    w = SecretsWorld.make(world)
    staging = world.environment(w.site, "staging", parent=w.env)
    preview = world.environment(w.site, "preview", parent=staging)
    path = f"/v1/sites/{w.site.id}/environments/{w.env.id}"
    response = api.patch(path, json={"parent": preview.id}, headers=w.owner.headers)
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "parent"
    assert "cycle" in response.json()["error"]["message"]
    self_parent = api.patch(path, json={"parent": w.env.id}, headers=w.owner.headers)
    assert self_parent.status_code == 422
    # The list still resolves (the chain is intact).
    assert api.get(secrets_path(preview), headers=w.owner.headers).status_code == 200
