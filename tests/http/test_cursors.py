"""One answer for a cursor that is not an item of the list, on every list: 400
invalid_request naming starting_after (unknown, empty, another team's)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.assertions import assert_error, data_of
from tests.factories import SecretsWorld, World, secrets_path


def test_every_list_refuses_a_cursor_that_is_not_one_of_its_items(
    api: TestClient, world: World
) -> None:
    w = SecretsWorld.make(world)
    other = SecretsWorld.make(world)
    headers = w.owner.headers
    data_of(api.put(secrets_path(w.env, "MINE"), json={"value": "v"}, headers=headers))
    data_of(
        api.put(secrets_path(other.env, "THEIRS"), json={"value": "v"}, headers=other.owner.headers)
    )
    env_list = f"/v1/sites/{w.site.id}/environments"
    lists = {
        "/v1/sites": (w.site.id, other.site.id),
        "/v1/projects": (None, None),
        "/v1/audit-events": (None, None),
        "/v1/api-keys": (w.owner.id, other.owner.id),
        env_list: (w.env.id, other.env.id),
        f"{env_list}/{w.env.id}/deployments": (None, None),
        secrets_path(w.env): ("MINE", "THEIRS"),
    }
    for path, (own, foreign) in lists.items():
        if own is not None:  # a cursor from the list itself pages on
            page = api.get(path, params={"starting_after": own}, headers=headers)
            assert page.status_code == 200, (path, page.text)
        for cursor in filter(None, ("site_01JUNKJUNKJUNKJUNKJUNKJUNK", "0", "zzz", foreign)):
            response = api.get(path, params={"starting_after": cursor}, headers=headers)
            assert_error(response, 400, "invalid_request", "starting_after")
        response = api.get(path, params={"starting_after": ""}, headers=headers)
        assert_error(response, 400, "invalid_request", "starting_after")
