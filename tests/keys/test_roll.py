"""POST /v1/api-keys/{id}/roll: grace windows, rolling again, racing rolls."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import or_, select, update
from starlette.testclient import TestClient

from forge.clock import utcnow
from forge.db import Database
from forge.keys import rolling
from forge.keys.models import KeySecret
from tests.factories import World, principal_of
from tests.keys.helpers import bearer, created, error


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _roll(
    api: TestClient, headers: dict[str, str], key_id: str, **body: object
) -> dict[str, object]:
    response = api.post(f"/v1/api-keys/{key_id}/roll", headers=headers, json=body or None)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()["data"]
    return data


def _live_secrets(database: Database, key_id: str) -> int:
    now = utcnow()
    with database.session() as session:
        return len(
            session.scalars(
                select(KeySecret).where(
                    KeySecret.key_id == key_id,
                    KeySecret.revoked_at.is_(None),
                    or_(KeySecret.expires_at.is_(None), KeySecret.expires_at > now),
                )
            ).all()
        )


# --- unhappy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("grace", ["8d", "169h", "1y", "soon", "-1h", "24"])
def test_grace_beyond_7_days_or_malformed_is_422(api: TestClient, world: World, grace: str) -> None:
    caller = world.owner_key()
    response = api.post(
        f"/v1/api-keys/{caller.id}/roll", headers=caller.headers, json={"grace": grace}
    )
    assert response.status_code == 422
    assert error(response)["param"] == "grace"


def test_unknown_body_field_is_422(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    response = api.post(
        f"/v1/api-keys/{caller.id}/roll", headers=caller.headers, json={"grase": "1h"}
    )
    assert response.status_code == 422
    assert error(response)["param"] == "grase"


def test_rolling_a_revoked_key_is_409(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    api.delete(f"/v1/api-keys/{made['id']}", headers=caller.headers)
    response = api.post(f"/v1/api-keys/{made['id']}/roll", headers=caller.headers)
    assert response.status_code == 409


def test_a_narrow_key_cannot_roll_a_wider_key(api: TestClient, world: World) -> None:
    """A roll hands over a working secret: that would be escalation."""
    team = world.team()
    person = world.member(team, "owner")
    narrow = world.key(team, person, scopes=["keys:write"])
    wide = world.key(team, person)
    response = api.post(f"/v1/api-keys/{wide.id}/roll", headers=narrow.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    assert api.get("/v1/api-keys/self", headers=wide.headers).status_code == 200


def test_roll_needs_keys_write(api: TestClient, world: World) -> None:
    caller = world.owner_key(scopes=["sites:read"])
    response = api.post(f"/v1/api-keys/{caller.id}/roll", headers=caller.headers)
    assert response.status_code == 403
    assert error(response)["code"] == "insufficient_scope"


# --- the seed's roll -------------------------------------------------------------------------


def test_seed_example_roll_answers_the_seed_shape(api: TestClient, world: World) -> None:
    team = world.team()
    caller = world.owner_key(team, mode="live")
    made = created(api, caller)
    response = api.post(
        f"/v1/api-keys/{made['id']}/roll",
        headers={
            **caller.headers,
            "Forge-Version": "2026-06-23",
            "Content-Type": "application/json",
        },
        content='{ "grace": "24h" }',
    )
    assert response.status_code == 200, response.text
    assert response.headers["Forge-Version"] == "2026-06-23"
    data = response.json()["data"]
    assert set(data) == {"id", "secret", "prefix", "previous_prefix", "previous_expires_at"}
    assert data["id"] == made["id"]
    assert data["secret"].startswith("mfk_live_") and data["secret"] != made["secret"]
    assert data["prefix"] == data["secret"][:13] + "…"
    assert data["previous_prefix"] == made["prefix"]
    window = _at(data["previous_expires_at"]) - utcnow()
    assert timedelta(hours=23, minutes=59) < window <= timedelta(hours=24)
    # Both secrets work during the grace window; the key id is the same.
    for secret in (made["secret"], data["secret"]):
        me = api.get("/v1/api-keys/self", headers=bearer(secret))
        assert me.status_code == 200
        assert me.json()["data"]["id"] == made["id"]


def test_default_grace_is_24h_and_an_empty_body_is_fine(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    response = api.post(f"/v1/api-keys/{made['id']}/roll", headers=caller.headers)
    assert response.status_code == 200
    window = _at(response.json()["data"]["previous_expires_at"]) - utcnow()
    assert timedelta(hours=23, minutes=59) < window <= timedelta(hours=24)


def test_grace_0s_cuts_the_old_secret_at_once(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    data = _roll(api, caller.headers, made["id"], grace="0s")
    assert api.get("/v1/api-keys/self", headers=bearer(made["secret"])).status_code == 401
    assert api.get("/v1/api-keys/self", headers=bearer(str(data["secret"]))).status_code == 200


def test_the_old_secret_stops_when_its_grace_ends(api: TestClient, world: World) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    _roll(api, caller.headers, made["id"], grace="7d")
    with world.database.session() as session:
        session.execute(
            update(KeySecret)
            .where(KeySecret.key_id == made["id"], KeySecret.expires_at.is_not(None))
            .values(expires_at=utcnow())
        )
    assert api.get("/v1/api-keys/self", headers=bearer(made["secret"])).status_code == 401


def test_rolling_again_ends_the_older_secret_at_once(
    api: TestClient, world: World, database: Database
) -> None:
    caller = world.owner_key()
    made = created(api, caller)
    first = _roll(api, caller.headers, made["id"], grace="24h")
    second = _roll(api, caller.headers, made["id"], grace="24h")
    assert second["previous_prefix"] == first["prefix"]
    assert api.get("/v1/api-keys/self", headers=bearer(made["secret"])).status_code == 401
    for secret in (first["secret"], second["secret"]):
        assert api.get("/v1/api-keys/self", headers=bearer(str(secret))).status_code == 200
    assert _live_secrets(database, made["id"]) == 2
    statuses = api.get(f"/v1/api-keys/{made['id']}", headers=caller.headers).json()["data"]
    assert [s["status"] for s in statuses["secrets"]] == ["current", "previous", "ended"]


def test_a_key_can_roll_itself_with_its_old_secret_still_in_grace(
    api: TestClient, world: World
) -> None:
    caller = world.owner_key()
    data = _roll(api, caller.headers, caller.id)
    # The caller's old secret is in grace: it still works for the next step of the runbook.
    assert api.get("/v1/api-keys/self", headers=caller.headers).status_code == 200
    assert api.get("/v1/api-keys/self", headers=bearer(str(data["secret"]))).status_code == 200


def test_a_rolled_key_keeps_its_config(api: TestClient, world: World) -> None:
    team = world.team()
    site = world.site(team)
    caller = world.owner_key(team)
    made = created(api, caller, resource={"site": site.id}, ip_allowlist=["198.51.100.0/24"])
    before = api.get(f"/v1/api-keys/{made['id']}", headers=caller.headers).json()["data"]
    _roll(api, caller.headers, made["id"])
    after = api.get(f"/v1/api-keys/{made['id']}", headers=caller.headers).json()["data"]
    for field in ("name", "scopes", "resource", "ip_allowlist", "expires_at", "owner"):
        assert after[field] == before[field], field


def test_roll_spends_the_write_bucket_and_self_spends_nothing(
    api: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forge.http.auth import Access

    spent: list[str] = []
    finish = Access.finish

    def spy(self: Access, failed: bool) -> None:
        spent.append(self.bucket)
        finish(self, failed)

    monkeypatch.setattr(Access, "finish", spy)
    caller = world.owner_key()
    made = created(api, caller)
    api.post(f"/v1/api-keys/{made['id']}/roll", headers=caller.headers)
    api.get("/v1/api-keys/self", headers=caller.headers)
    assert spent == ["create", "write", "free"]


# --- races -----------------------------------------------------------------------------------


def test_racing_rolls_never_leave_three_live_secrets(world: World, database: Database) -> None:
    caller = world.owner_key()
    principal = principal_of(database, caller.secret)
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def roll_once() -> None:
        start.wait()
        try:
            with database.session() as session:
                rolled = rolling.roll(session, principal, caller.id, timedelta(hours=24))
            outcomes.append(rolled.prefix)
        except Exception as err:  # a loser may only fail cleanly, never corrupt
            outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=roll_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4
    assert _live_secrets(database, caller.id) <= 2
    with database.session() as session:
        current = session.scalars(
            select(KeySecret).where(
                KeySecret.key_id == caller.id,
                KeySecret.expires_at.is_(None),
                KeySecret.revoked_at.is_(None),
            )
        ).all()
    assert len(current) == 1


def test_rolling_an_expired_key_is_409(api: TestClient, world: World) -> None:
    from forge.keys.models import ApiKey

    caller = world.owner_key()
    made = created(api, caller)
    with world.database.session() as session:
        session.execute(update(ApiKey).where(ApiKey.id == made["id"]).values(expires_at=utcnow()))
    response = api.post(f"/v1/api-keys/{made['id']}/roll", headers=caller.headers)
    assert response.status_code == 409
    assert api.get("/v1/api-keys/self", headers=bearer(made["secret"])).status_code == 401


@pytest.mark.parametrize("attempt", range(3))
def test_a_roll_racing_a_revocation_never_leaves_a_live_secret(
    world: World, database: Database, attempt: int
) -> None:
    from forge.keys import service as keys

    caller = world.owner_key()
    principal = principal_of(database, caller.secret)
    start = threading.Barrier(2)

    def roll_it() -> None:
        start.wait()
        try:
            with database.session() as session:
                rolling.roll(session, principal, caller.id, timedelta(hours=24))
        except Exception:  # noqa: S110 (a roll after the revocation is a 409)
            pass

    def revoke_it() -> None:
        start.wait()
        with database.session() as session:
            keys.revoke_key(session, principal, caller.id)

    threads = [threading.Thread(target=roll_it), threading.Thread(target=revoke_it)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _live_secrets(database, caller.id) == 0
