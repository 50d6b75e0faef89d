"""The team/site/env path surface: /{o}/{p}/envs/{envName}/secrets…: shapes and permission."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.factories import SecretsWorld, World, secrets_path


def _path(w: SecretsWorld, name: str | None = None, env: str = "production") -> str:
    base = f"/{w.team.slug}/{w.site.slug}/envs/{env}/secrets"
    return base if name is None else f"{base}/{name}"


def _is_error(response_json: object, code: str) -> None:
    assert isinstance(response_json, dict)
    assert set(response_json) == {"error", "code"}
    assert isinstance(response_json["error"], str) and response_json["error"]
    assert response_json["code"] == code


def test_create_get_list_update_set_value_delete(api: TestClient, w: SecretsWorld) -> None:
    h = w.owner.headers
    created = api.post(
        _path(w),
        json={"kind": "Secret", "name": "STRIPE_KEY", "description": "payments"},
        headers=h,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"name", "description", "hasValue", "createdAt", "updatedAt"}
    assert body["name"] == "STRIPE_KEY" and body["hasValue"] is False
    assert body["description"] == "payments"
    assert (
        api.post(_path(w), json={"kind": "Secret", "name": "STRIPE_KEY"}, headers=h).status_code
        == 409
    )

    set_value = api.put(_path(w, "STRIPE_KEY") + "/value", json={"value": "sk_live_x"}, headers=h)
    assert set_value.status_code == 200, set_value.text
    assert set_value.json()["hasValue"] is True
    assert "sk_live_x" not in set_value.text

    got = api.get(_path(w, "STRIPE_KEY"), headers=h)
    assert got.status_code == 200 and got.json()["hasValue"] is True
    listed = api.get(_path(w), headers=h)
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()] == ["STRIPE_KEY"]

    updated = api.put(
        _path(w, "STRIPE_KEY"),
        json={"kind": "Secret", "name": "STRIPE_KEY", "description": "new text"},
        headers=h,
    )
    assert updated.status_code == 200 and updated.json()["description"] == "new text"

    deleted = api.delete(_path(w, "STRIPE_KEY"), headers=h)
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": True, "name": "STRIPE_KEY"}
    missing = api.get(_path(w, "STRIPE_KEY"), headers=h)
    assert missing.status_code == 404
    _is_error(missing.json(), "not_found")


def test_one_model_both_surfaces(api: TestClient, w: SecretsWorld) -> None:
    h = w.owner.headers
    api.put(secrets_path(w.env, "FROM_V1"), json={"value": "v"}, headers=h)
    assert api.get(_path(w, "FROM_V1"), headers=h).json()["hasValue"] is True
    api.post(_path(w), json={"kind": "Secret", "name": "FROM_002"}, headers=h)
    assert api.get(secrets_path(w.env, "FROM_002"), headers=h).json()["data"]["has_value"] is False


def test_set_value_is_owner_only(api: TestClient, world: World, w: SecretsWorld) -> None:
    api.post(_path(w), json={"kind": "Secret", "name": "OWNED"}, headers=w.owner.headers)
    admin = world.key(w.team, world.member(w.team, "admin"))
    service_token = world.key(w.team)  # a team principal: an admin's rights, never an owner's
    for key in (admin, service_token):
        response = api.put(_path(w, "OWNED") + "/value", json={"value": "x"}, headers=key.headers)
        assert response.status_code == 403, response.text
        _is_error(response.json(), "insufficient_scope")
        assert "secrets:set-value" in response.json()["error"]
        # …but it may still declare and describe secrets (secrets:write).
        assert api.get(_path(w, "OWNED"), headers=key.headers).status_code == 200
    assert api.get(_path(w, "OWNED"), headers=w.owner.headers).json()["hasValue"] is False


def test_set_value_on_an_undeclared_secret_is_404(api: TestClient, w: SecretsWorld) -> None:
    response = api.put(
        _path(w, "NEVER_DECLARED") + "/value", json={"value": "x"}, headers=w.owner.headers
    )
    assert response.status_code == 404
    _is_error(response.json(), "not_found")


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"kind": "Secret", "name": "bad-name"}, "validation_error", 422),
        ({"kind": "Secret", "name": "FORGE_TOKEN"}, "validation_error", 422),
        ({"name": "NO_KIND"}, "validation_error", 422),
        ({"kind": "Other", "name": "X"}, "validation_error", 422),
        ({"kind": "Secret"}, "validation_error", 422),
    ],
)
def test_errors_take_the_team_path_shape(
    api: TestClient, w: SecretsWorld, body: dict[str, str], code: str, status: int
) -> None:
    response = api.post(_path(w), json=body, headers=w.owner.headers)
    assert response.status_code == status
    _is_error(response.json(), code)


def test_malformed_json_unauthenticated_and_oversized_value_take_the_shape(
    api: TestClient, w: SecretsWorld
) -> None:
    h = w.owner.headers
    malformed = api.post(
        _path(w), content=b'{"kind": ', headers={**h, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    _is_error(malformed.json(), "invalid_request")
    anonymous = api.get(_path(w))
    assert anonymous.status_code == 401
    _is_error(anonymous.json(), "authentication")
    api.post(_path(w), json={"kind": "Secret", "name": "BIG"}, headers=h)
    big = api.put(_path(w, "BIG") + "/value", json={"value": "x" * (64 * 1024 + 1)}, headers=h)
    assert big.status_code == 422
    _is_error(big.json(), "validation_error")
    assert "rule: value_size" in big.json()["error"]
    mismatch = api.put(_path(w, "BIG"), json={"kind": "Secret", "name": "OTHER"}, headers=h)
    assert mismatch.status_code == 422
    _is_error(mismatch.json(), "validation_error")


def test_other_team_mode_site_or_environment_is_404(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    stranger = world.owner_key()
    live = world.owner_key(w.team, mode="live")
    other_team = world.team()
    for path, key in (
        (_path(w), stranger),  # another team's key naming this team's slug
        (_path(w), live),  # a live key: the test-mode site does not exist for it
        (f"/{other_team.slug}/{w.site.slug}/envs/production/secrets", w.owner),
        (f"/{w.team.slug}/no-such-site/envs/production/secrets", w.owner),
        (_path(w, env="staging"), w.owner),
    ):
        response = api.get(path, headers=key.headers)
        assert response.status_code == 404, path
        _is_error(response.json(), "not_found")


def test_v1_routes_are_never_shadowed(api: TestClient, w: SecretsWorld) -> None:
    # A /v1 path of the same depth still reaches its own router and error shape.
    response = api.get(f"/v1/sites/{w.site.id}/environments", headers=w.owner.headers)
    assert response.status_code == 200
    assert "data" in response.json()
    unknown = api.get("/v1/nothing/here/envs/x/secrets", headers=w.owner.headers)
    assert unknown.status_code == 404


def test_openapi_describes_both_surfaces(api: TestClient) -> None:
    document = api.get("/v1/openapi.json").json()
    paths = document["paths"]
    assert "/v1/sites/{site}/environments/{env}/secrets/{key}" in paths
    assert "/v1/sites/{site}/environments/{env}/deployments" in paths
    compat = paths["/{o}/{p}/envs/{envName}/secrets/{name}/value"]["put"]
    error_ref = compat["responses"]["403"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/CompatError")
    schemas = document["components"]["schemas"]
    assert set(schemas["CompatSecret"]["properties"]) == {
        "name",
        "description",
        "hasValue",
        "createdAt",
        "updatedAt",
    }


def test_a_replayed_conflict_keeps_the_team_path_shape(api: TestClient, w: SecretsWorld) -> None:
    """The stored outcome of an Idempotency-Key is rendered in the route's surface too."""
    h = w.owner.headers
    body = {"kind": "Secret", "name": "TWICE"}
    assert api.post(_path(w), json=body, headers=h).status_code == 201
    keyed = {**h, "Idempotency-Key": "declare-twice"}
    conflict = api.post(_path(w), json=body, headers=keyed)
    replay = api.post(_path(w), json=body, headers=keyed)
    assert (conflict.status_code, replay.status_code) == (409, 409)
    assert replay.headers["idempotent-replayed"] == "true"
    _is_error(conflict.json(), "conflict")
    _is_error(replay.json(), "conflict")
    assert replay.json() == conflict.json()
