"""GET /v1/audit-events: key events and usage, filtered and paginated; never a secret."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.clock import rfc3339, utcnow
from forge.db import Database
from forge.keys import usage
from tests.factories import World
from tests.keys.helpers import bearer, created, error


def _events(api: TestClient, headers: dict[str, str], query: str = "") -> list[dict[str, object]]:
    response = api.get(f"/v1/audit-events{query}", headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, object]] = response.json()["data"]
    return data


def test_needs_audit_read(api: TestClient, world: World) -> None:
    team = world.team()
    member = world.role_key(team, "member")  # the role has no audit:read
    response = api.get("/v1/audit-events", headers=member.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "insufficient_scope"
    assert "audit:read" in error(response)["message"]
    assert api.get("/v1/audit-events").status_code == 401


def test_a_key_pinned_below_the_team_may_not_read_the_team_log(
    api: TestClient, world: World
) -> None:
    team = world.team()
    site = world.site(team)
    pinned = world.owner_key(team, resource=("site", site.id))
    response = api.get("/v1/audit-events", headers=pinned.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    team_pinned = world.owner_key(team, resource=("team", team.id))
    assert api.get("/v1/audit-events", headers=team_pinned.headers).status_code == 200


def test_a_full_key_in_the_query_is_still_refused(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    response = api.get(f"/v1/audit-events?key_prefix={caller.secret}", headers=caller.headers)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_request"


def test_invalid_filters_are_422(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    for query, param in (
        ("?since=yesterday", "since"),
        ("?since=2026-11-23T10:00:00", "since"),  # no zone: ambiguous, refused
        ("?until=2026-13-01T00:00:00Z", "until"),
        ("?limit=101", "limit"),
        ("?action=" + "x" * 65, "action"),
    ):
        response = api.get(f"/v1/audit-events{query}", headers=caller.headers)
        assert response.status_code == 422, query
        assert error(response)["param"] == param


def test_every_key_event_is_recorded_without_secrets(
    api: TestClient, world: World, database: Database
) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    api.patch(f"/v1/api-keys/{made['id']}", headers=caller.headers, json={"name": "renamed"})
    rolled = api.post(f"/v1/api-keys/{made['id']}/roll", headers=caller.headers).json()["data"]
    api.get("/v1/api-keys/self", headers=bearer(rolled["secret"]))
    api.delete(f"/v1/api-keys/{made['id']}", headers=caller.headers)
    usage.flush(database, api.app.state.usage)  # type: ignore[attr-defined]
    about = _events(api, caller.headers, f"?resource={made['id']}")
    # Newest first; a usage event's id carries the start of its minute, so it sorts by that.
    actions = [e["action"] for e in about if e["action"] != "key.used"]
    assert actions == ["key.revoked", "key.rolled", "key.updated", "key.created"]
    assert [e["action"] for e in about].count("key.used") == 1
    created_event = next(e for e in about if e["action"] == "key.created")
    assert created_event["key_id"] == caller.id
    assert created_event["key_prefix"] == caller.prefix + "…"
    assert created_event["actor_type"] == "client"
    assert created_event["data"]["prefix"] == made["prefix"]  # type: ignore[index]
    rolled_event = next(e for e in about if e["action"] == "key.rolled")
    assert rolled_event["data"]["previous_prefix"] == made["prefix"]  # type: ignore[index]
    with database.session() as session:
        stored = " ".join(str(e.data) for e in session.scalars(select(AuditEvent)))
    for secret in (made["secret"], rolled["secret"], caller.secret):
        assert secret not in stored
        assert secret[9:] not in stored


def test_filters_by_prefix_action_and_time(
    api: TestClient, world: World, database: Database
) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    api.get("/v1/api-keys/self", headers=bearer(made["secret"]))
    usage.flush(database, api.app.state.usage)  # type: ignore[attr-defined]
    by_prefix = _events(api, caller.headers, f"?key_prefix={made['prefix']}")
    assert [e["action"] for e in by_prefix] == ["key.used"]
    bare = made["prefix"].rstrip("…")
    assert _events(api, caller.headers, f"?key_prefix={bare}") == by_prefix
    assert {e["action"] for e in _events(api, caller.headers, "?action=key.created")} == {
        "key.created"
    }
    future = rfc3339(utcnow() + timedelta(minutes=5))
    past = rfc3339(utcnow() - timedelta(minutes=5))
    assert _events(api, caller.headers, f"?since={future}") == []
    assert _events(api, caller.headers, f"?until={past}") == []
    assert len(_events(api, caller.headers, f"?since={past}&until={future}")) >= 3


def test_pages(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    for _ in range(3):
        created(api, caller, scopes=["sites:read"])
    first = api.get("/v1/audit-events?limit=2", headers=caller.headers).json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    last_id = first["data"][-1]["id"]
    rest = api.get(f"/v1/audit-events?limit=10&starting_after={last_id}", headers=caller.headers)
    ids = [e["id"] for e in rest.json()["data"]]
    assert ids and all(i < last_id for i in ids)


def test_another_teams_and_the_other_modes_events_are_invisible(
    api: TestClient, world: World
) -> None:
    team = world.team()
    person = world.member(team, "owner")
    test_key = world.key(team, person, mode="test")
    live_key = world.key(team, person, mode="live")
    created(api, live_key, scopes=["sites:read"])
    stranger = world.owner_key()
    created(api, stranger, scopes=["sites:read"])
    seen = _events(api, test_key.headers)
    assert {e["mode"] for e in seen} <= {"test", None}
    assert not any(e["resource_id"] == live_key.id for e in seen)
    assert all(e["key_id"] != stranger.id for e in seen)
    assert any(e["mode"] == "live" for e in _events(api, live_key.headers))
