"""A string that parses as a Forge key (valid checksum) is refused as a body value (400, naming
the field, never echoed) and never echoed in any error, a 404 for a path included."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.testclient import TestClient

from forge.db import Database
from forge.keys import tokens
from forge.keys.models import ApiKey
from tests.assertions import assert_error, data_of
from tests.factories import SecretsWorld, World, secrets_path


def _key_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def test_a_key_as_a_body_value_is_refused_and_not_echoed(
    api: TestClient, world: World, database: Database
) -> None:
    owner = world.owner_key()
    pasted = tokens.generate("mfk", "test")
    before = _key_count(database)
    for body, param in (
        ({"name": pasted, "scopes": ["sites:read"]}, "name"),
        ({"name": "ci", "scopes": [pasted]}, "scopes[0]"),
        ({"name": f"copied {pasted} by mistake", "scopes": ["sites:read"]}, "name"),
        ({"name": "ci", "scopes": ["sites:read"], tokens.generate("mfs", "live"): 1}, None),
    ):
        response = api.post("/v1/api-keys", json=body, headers=owner.headers)
        error = assert_error(response, 400, "invalid_request")
        if param is not None:
            assert error["param"] == param
        assert pasted not in response.text
    assert _key_count(database) == before


def test_a_look_alike_without_a_valid_checksum_is_just_text(api: TestClient, world: World) -> None:
    owner = world.owner_key()
    real = tokens.generate("mfk", "test")
    look_alike = real[:-1] + ("0" if real[-1] != "0" else "1")
    body = {"name": look_alike, "scopes": ["sites:read"]}
    assert data_of(api.post("/v1/api-keys", json=body, headers=owner.headers), 201)


def test_a_secret_value_may_hold_a_key(api: TestClient, world: World) -> None:
    w = SecretsWorld.make(world)
    stored = tokens.generate("mfs", "live")
    response = api.put(
        secrets_path(w.env, "CI_TOKEN"), json={"value": stored}, headers=w.owner.headers
    )
    data_of(response)
    assert stored not in response.text


def test_a_key_in_a_path_is_never_echoed(api: TestClient, world: World) -> None:
    w = SecretsWorld.make(world)
    pasted = tokens.generate("mfk", "test")
    for path in (
        f"/v1/sites/{pasted}",
        f"/v1/sites/{w.site.id}/environments/{pasted}",
        f"/{w.team.slug}/{pasted}/envs/production/secrets",
        f"/v1/{pasted}",
    ):
        response = api.get(path, headers=w.owner.headers)
        assert response.status_code == 404, response.text
        assert pasted not in response.text
        assert pasted[:13] in response.text or "No such route" in response.text
