"""An idempotent retry of a create or roll never reveals or mints a second secret."""

from __future__ import annotations

from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from forge.db import Database
from forge.keys.models import ApiKey, KeySecret
from tests.factories import World


def _post(api: TestClient, path: str, headers: dict[str, str], body: dict[str, object]):  # type: ignore[no-untyped-def]
    return api.post(path, headers={**headers, "Idempotency-Key": "retry-1"}, json=body)


def test_a_retried_create_answers_the_key_without_its_secret(
    api: TestClient, world: World, database: Database
) -> None:
    caller = world.owner_key()
    body = {"name": "ci-deploy-bot", "scopes": ["sites:read"]}
    first = _post(api, "/v1/api-keys", caller.headers, body)
    assert first.status_code == 201, first.text
    secret = first.json()["data"]["secret"]
    retry = _post(api, "/v1/api-keys", caller.headers, body)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert "secret" not in retry.json()["data"]
    assert retry.json()["data"]["id"] == first.json()["data"]["id"]
    with database.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(ApiKey).where(ApiKey.name == "ci-deploy-bot")
            )
            == 1
        )
        stored = session.execute(text("SELECT * FROM idempotency_records")).all()
    assert stored and secret.split("_", 2)[2] not in repr(stored)


def test_a_retried_roll_mints_no_second_secret(
    api: TestClient, world: World, database: Database
) -> None:
    caller = world.owner_key()
    target = api.post(
        "/v1/api-keys", headers=caller.headers, json={"name": "bot", "scopes": ["sites:read"]}
    ).json()["data"]
    path = f"/v1/api-keys/{target['id']}/roll"
    first = _post(api, path, caller.headers, {"grace": "1h"})
    assert first.status_code == 200, first.text
    retry = _post(api, path, caller.headers, {"grace": "1h"})
    assert retry.headers["idempotent-replayed"] == "true"
    assert "secret" not in retry.json()["data"]
    assert retry.json()["data"]["prefix"] == first.json()["data"]["prefix"]
    with database.session() as session:
        secrets = session.scalar(
            select(func.count()).select_from(KeySecret).where(KeySecret.key_id == target["id"])
        )
    assert secrets == 2, "the original and one rolled secret, not a third"
