"""Idempotency on routes whose resolver already read through the request's session (a
deployment under /sites/{site}/environments/{env}): the claim must not wait on that session."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factories import SecretsWorld, World


def test_an_idempotent_deployment_is_created_once_and_replayed(
    api: TestClient, world: World
) -> None:
    made = SecretsWorld.make(world)
    path = f"/v1/sites/{made.site.id}/environments/{made.env.id}/deployments"
    headers = {**made.owner.headers, "Idempotency-Key": "deploy-1"}
    first = api.post(path, headers=headers)
    assert first.status_code == 201, first.text
    again = api.post(path, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    listed = api.get(path, headers=made.owner.headers).json()["data"]
    assert [d["id"] for d in listed] == [first.json()["data"]["id"]]
