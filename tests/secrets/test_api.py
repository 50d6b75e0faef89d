"""The seed-000 secret routes under /v1/sites/{site}/environments/{env}/secrets."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.secrets.rules import KEYS_PER_ENVIRONMENT, VALUE_MAX_BYTES
from tests.factories import SecretsWorld, World, secrets_path


def test_put_answers_exactly_the_seed_shape_and_never_the_value(
    api: TestClient, w: SecretsWorld
) -> None:
    response = api.put(
        secrets_path(w.env, "STRIPE_API_KEY"),
        json={"value": "sk_test_51Nvalue"},
        headers=w.owner.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"key", "env_id", "updated_at", "applies_on"}
    assert data["key"] == "STRIPE_API_KEY"
    assert data["env_id"] == w.env.id
    assert data["applies_on"] == "next-deploy"
    assert data["updated_at"].endswith("Z")
    assert "sk_test_51Nvalue" not in response.text


def test_list_and_get_show_metadata_never_values(api: TestClient, w: SecretsWorld) -> None:
    api.put(
        secrets_path(w.env, "DATABASE_URL"),
        json={"value": "postgres://very-secret", "description": "primary db"},
        headers=w.owner.headers,
    )
    listed = api.get(secrets_path(w.env), headers=w.owner.headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["has_more"] is False
    [item] = body["data"]
    assert item["key"] == "DATABASE_URL"
    assert item["description"] == "primary db"
    assert item["has_value"] is True
    assert item["version"] == 1
    assert item["required"] is False
    assert item["source"] == {
        "environment_id": w.env.id,
        "environment_name": "production",
        "inherited": False,
    }
    assert item["deployed"] is False
    assert item["updated_by"] is not None
    one = api.get(secrets_path(w.env, "DATABASE_URL"), headers=w.owner.headers)
    assert one.status_code == 200
    assert [v["version"] for v in one.json()["data"]["versions"]] == [1]
    for response in (listed, one):
        assert "very-secret" not in response.text


def test_declare_then_conflict_then_patch(api: TestClient, w: SecretsWorld) -> None:
    created = api.post(
        secrets_path(w.env),
        json={"key": "SENTRY_DSN", "description": "errors", "required": True},
        headers=w.owner.headers,
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["has_value"] is False and data["required"] is True and data["version"] is None
    again = api.post(secrets_path(w.env), json={"key": "SENTRY_DSN"}, headers=w.owner.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    patched = api.patch(
        secrets_path(w.env, "SENTRY_DSN"),
        json={"description": "error tracking", "required": False},
        headers=w.owner.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["description"] == "error tracking"
    assert patched.json()["data"]["required"] is False


def test_delete_then_gone_then_declare_again(api: TestClient, w: SecretsWorld) -> None:
    api.put(secrets_path(w.env, "TOKEN_A"), json={"value": "x"}, headers=w.owner.headers)
    deleted = api.delete(secrets_path(w.env, "TOKEN_A"), headers=w.owner.headers)
    assert deleted.status_code == 200
    assert deleted.json()["data"] == {"key": "TOKEN_A", "env_id": w.env.id, "deleted": True}
    assert api.get(secrets_path(w.env, "TOKEN_A"), headers=w.owner.headers).status_code == 404
    assert api.delete(secrets_path(w.env, "TOKEN_A"), headers=w.owner.headers).status_code == 404
    redeclared = api.post(secrets_path(w.env), json={"key": "TOKEN_A"}, headers=w.owner.headers)
    assert redeclared.status_code == 201
    assert redeclared.json()["data"]["has_value"] is False


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("lower_case", "name_pattern"),
        ("1STARTS_WITH_DIGIT", "name_pattern"),
        ("HAS-DASH", "name_pattern"),
        ("FORGE_SECRET", "name_reserved"),
        ("A" * 257, "name_length"),
    ],
)
def test_bad_names_are_422_naming_the_rule(
    api: TestClient, w: SecretsWorld, key: str, rule: str
) -> None:
    for response in (
        api.put(secrets_path(w.env, key), json={"value": "v"}, headers=w.owner.headers),
        api.post(secrets_path(w.env), json={"key": key}, headers=w.owner.headers),
    ):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert f"rule: {rule}" in error["message"]
        assert error["param"] == "key"


def test_longest_allowed_name_is_accepted(api: TestClient, w: SecretsWorld) -> None:
    key = "A" * 256
    response = api.put(secrets_path(w.env, key), json={"value": "v"}, headers=w.owner.headers)
    assert response.status_code == 200


def test_oversized_value_is_422_and_nothing_stored(api: TestClient, w: SecretsWorld) -> None:
    too_big = "é" * (VALUE_MAX_BYTES // 2 + 1)  # fewer characters than the limit, more bytes
    response = api.put(secrets_path(w.env, "BIG"), json={"value": too_big}, headers=w.owner.headers)
    assert response.status_code == 422
    assert "rule: value_size" in response.json()["error"]["message"]
    assert response.json()["error"]["param"] == "value"
    assert too_big not in response.text
    assert api.get(secrets_path(w.env, "BIG"), headers=w.owner.headers).status_code == 404
    exact = api.put(
        secrets_path(w.env, "BIG"), json={"value": "x" * VALUE_MAX_BYTES}, headers=w.owner.headers
    )
    assert exact.status_code == 200


def test_keys_per_environment_limit(api: TestClient, w: SecretsWorld) -> None:
    dotenv = "\n".join(f"K{i}=v" for i in range(KEYS_PER_ENVIRONMENT))
    imported = api.post(
        secrets_path(w.env, "import"), json={"dotenv": dotenv}, headers=w.owner.headers
    )
    assert imported.status_code == 200, imported.text
    more = api.put(secrets_path(w.env, "ONE_MORE"), json={"value": "v"}, headers=w.owner.headers)
    assert more.status_code == 422
    assert "rule: keys_per_environment" in more.json()["error"]["message"]
    replace = api.put(secrets_path(w.env, "K1"), json={"value": "w"}, headers=w.owner.headers)
    assert replace.status_code == 200


@pytest.mark.parametrize(
    "body", [b'{"value": "abc"', b"{value: 1}", b'{"value": "a"}}', b"\xff\xfe"]
)
def test_malformed_json_is_400(api: TestClient, w: SecretsWorld, body: bytes) -> None:
    response = api.put(
        secrets_path(w.env, "KEY"),
        content=body,
        headers={**w.owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("body", [{}, {"value": 12}, {"value": None}, {"value": "v", "extra": 1}])
def test_wrong_body_is_422(api: TestClient, w: SecretsWorld, body: dict[str, object]) -> None:
    response = api.put(secrets_path(w.env, "KEY"), json=body, headers=w.owner.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_read_only_key_cannot_write(api: TestClient, world: World, w: SecretsWorld) -> None:
    reader = world.key(w.team, world.member(w.team, "owner"), scopes=["secrets:read"])
    response = api.put(secrets_path(w.env, "KEY"), json={"value": "v"}, headers=reader.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert "secrets:set-value" in response.json()["error"]["message"]
    for attempt in (
        api.post(secrets_path(w.env), json={"key": "KEY"}, headers=reader.headers),
        api.delete(secrets_path(w.env, "KEY"), headers=reader.headers),
        api.patch(secrets_path(w.env, "KEY"), json={"required": True}, headers=reader.headers),
        api.post(secrets_path(w.env, "import"), json={"dotenv": "A=b"}, headers=reader.headers),
    ):
        assert attempt.status_code == 403
    assert api.get(secrets_path(w.env), headers=reader.headers).status_code == 200
    writer_only = world.key(w.team, world.member(w.team, "owner"), scopes=["secrets:write"])
    assert api.get(secrets_path(w.env), headers=writer_only.headers).status_code == 403


def test_viewer_role_cannot_write_even_with_the_scope(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    viewer = world.key(w.team, world.member(w.team, "viewer"))
    response = api.put(secrets_path(w.env, "KEY"), json={"value": "v"}, headers=viewer.headers)
    assert response.status_code == 403


def test_cross_environment_team_and_mode_are_404(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    other_site = world.site(w.team)
    other_env = world.environment(other_site, "production")
    # The environment exists, but not under this site.
    wrong = f"/v1/sites/{w.site.id}/environments/{other_env.id}/secrets"
    assert api.get(wrong, headers=w.owner.headers).status_code == 404
    # A key pinned to another environment of the same site sees nothing here.
    staging = world.environment(w.site, "staging")
    pinned = world.key(w.team, world.member(w.team), resource=("environment", staging.id))
    assert api.get(secrets_path(w.env), headers=pinned.headers).status_code == 404
    assert api.get(secrets_path(staging), headers=pinned.headers).status_code == 200
    # Another team's key, and a live key for this test-mode site: 404, not 403.
    stranger = world.owner_key()
    live = world.owner_key(w.team, mode="live")
    for key in (stranger, live):
        response = api.put(secrets_path(w.env, "KEY"), json={"value": "v"}, headers=key.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_unauthenticated_is_401(api: TestClient, w: SecretsWorld) -> None:
    assert api.get(secrets_path(w.env)).status_code == 401


def test_list_paginates_by_key(api: TestClient, w: SecretsWorld) -> None:
    dotenv = "\n".join(f"KEY_{i:02d}=v" for i in range(25))
    api.post(secrets_path(w.env, "import"), json={"dotenv": dotenv}, headers=w.owner.headers)
    first = api.get(secrets_path(w.env), headers=w.owner.headers).json()
    assert len(first["data"]) == 20 and first["has_more"] is True
    last = first["data"][-1]["key"]
    second = api.get(
        secrets_path(w.env), params={"starting_after": last}, headers=w.owner.headers
    ).json()
    assert [d["key"] for d in second["data"]] == [f"KEY_{i:02d}" for i in range(20, 25)]
    assert second["has_more"] is False


def test_audit_events_name_keys_never_values(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    h = w.owner.headers
    api.post(secrets_path(w.env), json={"key": "DECLARED"}, headers=h)
    api.put(secrets_path(w.env, "SET_ME"), json={"value": "audit-plaintext-1"}, headers=h)
    api.put(secrets_path(w.env, "SET_ME"), json={"value": "audit-plaintext-2"}, headers=h)
    api.post(secrets_path(w.env, "SET_ME") + "/restore", json={"version": 1}, headers=h)
    api.post(secrets_path(w.env, "import"), json={"dotenv": "IMP=audit-plaintext-3"}, headers=h)
    api.delete(secrets_path(w.env, "DECLARED"), headers=h)
    with world.database.session() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.team_id == w.team.id, AuditEvent.action.like("secret.%"))
            .order_by(AuditEvent.id)
        ).all()
        actions = [e.action for e in events]
        assert actions == [
            "secret.declared",
            "secret.set",
            "secret.set",
            "secret.restored",
            "secret.imported",
            "secret.deleted",
        ]
        assert all(e.actor_type == "client" and e.key_prefix for e in events)
        assert events[1].data["key"] == "SET_ME"
        assert events[4].data["keys"] == ["IMP"]
        assert "audit-plaintext" not in repr([e.data for e in events])
