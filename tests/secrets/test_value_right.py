"""Setting a secret value is one right on every surface and by every route: by default the
team's owners only; the team's owners may extend it to admins or members."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.testclient import TestClient

from forge.db import Database
from forge.secrets.models import SecretVersion
from tests.assertions import assert_error, data_of
from tests.factories import Key, SecretsWorld, World, secrets_path

SetRoute = Callable[[TestClient, SecretsWorld, Key], httpx.Response]


def _put(api: TestClient, w: SecretsWorld, key: Key) -> httpx.Response:
    return api.put(secrets_path(w.env, "API_TOKEN"), json={"value": "new"}, headers=key.headers)


def _import(api: TestClient, w: SecretsWorld, key: Key) -> httpx.Response:
    body = {"dotenv": "API_TOKEN=new\n", "overwrite": True}
    return api.post(secrets_path(w.env) + "/import", json=body, headers=key.headers)


def _restore(api: TestClient, w: SecretsWorld, key: Key) -> httpx.Response:
    path = secrets_path(w.env, "API_TOKEN") + "/restore"
    return api.post(path, json={"version": 1}, headers=key.headers)


def _compat_put(api: TestClient, w: SecretsWorld, key: Key) -> httpx.Response:
    path = f"/{w.team.slug}/{w.site.slug}/envs/production/secrets/API_TOKEN/value"
    return api.put(path, json={"value": "new"}, headers=key.headers)


ROUTES: dict[str, SetRoute] = {
    "v1-put": _put,
    "v1-import": _import,
    "v1-restore": _restore,
    "seed002-put-value": _compat_put,
}


@pytest.fixture
def w(api: TestClient, world: World) -> SecretsWorld:
    made = SecretsWorld.make(world)
    data_of(_put(api, made, made.owner))
    return made


def _versions(database: Database) -> int:
    with database.session() as session:
        return session.query(SecretVersion).count()


def _refused(response: httpx.Response) -> None:
    if response.request.url.path.startswith("/v1/"):
        error = assert_error(response, 403, "insufficient_scope")
        assert error["required_scope"] == "secrets:set-value"
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
@pytest.mark.parametrize("role", ["admin", "member"])
def test_only_owners_set_values_by_default_on_every_route(
    api: TestClient, world: World, w: SecretsWorld, database: Database, route: SetRoute, role: str
) -> None:
    key = world.role_key(w.team, role)  # every scope its role allows
    before = _versions(database)
    _refused(route(api, w, key))
    assert _versions(database) == before
    assert route(api, w, w.owner).status_code == 200
    assert _versions(database) == before + 1


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_a_service_token_never_sets_values(
    api: TestClient, world: World, w: SecretsWorld, database: Database, route: SetRoute
) -> None:
    before = _versions(database)
    _refused(route(api, w, world.service_token(w.team)))
    assert _versions(database) == before


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_the_team_setting_extends_the_right_on_every_route(
    api: TestClient, world: World, w: SecretsWorld, database: Database, route: SetRoute
) -> None:
    member = world.role_key(w.team, "member")
    body = {"secret_value_roles": ["owner", "member"]}
    team = data_of(api.patch(f"/v1/teams/{w.team.id}", json=body, headers=w.owner.headers))
    assert team["secret_value_roles"] == ["owner", "member"]
    before = _versions(database)
    assert route(api, w, member).status_code == 200
    assert _versions(database) == before + 1
    admin = world.role_key(w.team, "admin")
    _refused(route(api, w, admin))


def test_only_owners_change_the_setting_and_owners_keep_the_right(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    path = f"/v1/teams/{w.team.id}"
    admin = world.role_key(w.team, "admin")
    widen = {"secret_value_roles": ["owner", "admin"]}
    assert_error(api.patch(path, json=widen, headers=admin.headers), 403, "forbidden")
    drop_owner = {"secret_value_roles": ["admin"]}
    assert_error(
        api.patch(path, json=drop_owner, headers=w.owner.headers),
        422,
        "validation_error",
        "secret_value_roles",
    )
    bad = {"secret_value_roles": ["viewer"]}
    assert_error(api.patch(path, json=bad, headers=w.owner.headers), 422, "validation_error")
    assert data_of(api.get(path, headers=w.owner.headers))["secret_value_roles"] == ["owner"]


@pytest.mark.parametrize("version", [2**31, 9223372036854775808, 10**30])
def test_a_restore_of_a_version_past_any_bound_is_a_422(
    api: TestClient, w: SecretsWorld, version: int
) -> None:
    path = secrets_path(w.env, "API_TOKEN") + "/restore"
    response = api.post(path, json={"version": version}, headers=w.owner.headers)
    assert_error(response, 422, "validation_error", "version")
