from starlette.testclient import TestClient

from tests.factories import World


def test_owner_key_reads_its_team(api: TestClient, world: World) -> None:
    team = world.team()
    key = world.owner_key(team)
    response = api.get(f"/v1/teams/{team.id}", headers=key.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == team.id
