"""GET /v1/jobs and /v1/jobs/{id}: shape, visibility, filters, pages, and ?wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from forge.db import Database
from forge.jobs import service, waiting
from forge.notify_pg import PostgresNotifier
from forge.tenancy.models import Team
from tests.assertions import assert_error, data_of
from tests.conftest import BACKEND
from tests.factories import Key, World


def _enqueue(
    database: Database, team: Team, env_id: str, type: str = "test.echo", mode: str = "test"
) -> str:
    with database.session() as session:
        job = service.enqueue(
            session, type=type, team_id=team.id, mode=mode, resource=("environment", env_id)
        )
        return job.id


@pytest.fixture
def owner(world: World, team: Team) -> Key:
    return world.owner_key(team)


def test_a_job_has_the_documented_shape(
    api: TestClient, database: Database, team: Team, owner: Key
) -> None:
    job_id = _enqueue(database, team, "env_1")
    job = data_of(api.get(f"/v1/jobs/{job_id}", headers=owner.headers))
    assert job == {
        "id": job_id,
        "type": "test.echo",
        "status": "queued",
        "created_at": job["created_at"],
        "started_at": None,
        "finished_at": None,
        "resource": {"type": "environment", "id": "env_1"},
        "result": None,
        "error": None,
        "attempts": 0,
    }


def test_jobs_of_another_team_or_mode_do_not_exist(
    api: TestClient, database: Database, world: World, team: Team, owner: Key
) -> None:
    other = _enqueue(database, world.team(), "env_1")
    live = _enqueue(database, team, "env_1", mode="live")
    for job_id in (other, live, "job_01J9TT00000000000000000000"):
        assert_error(api.get(f"/v1/jobs/{job_id}", headers=owner.headers), 404, "not_found")
    assert data_of(api.get("/v1/jobs", headers=owner.headers)) == []


def test_jobs_need_jobs_read(api: TestClient, database: Database, world: World, team: Team) -> None:
    job_id = _enqueue(database, team, "env_1")
    key = world.key(team, world.member(team), scopes=["cache:write"])
    error = assert_error(
        api.get(f"/v1/jobs/{job_id}", headers=key.headers), 403, "insufficient_scope"
    )
    assert "jobs:read" in error["message"]
    assert_error(api.get("/v1/jobs", headers=key.headers), 403, "insufficient_scope")


def test_a_key_pinned_to_an_environment_sees_only_its_jobs(
    api: TestClient, database: Database, world: World, team: Team
) -> None:
    site = world.site(team)
    mine, theirs = world.environment(site, "production"), world.environment(site, "staging")
    pinned = world.owner_key(team, resource=("environment", mine.id))
    mine_job, theirs_job = _enqueue(database, team, mine.id), _enqueue(database, team, theirs.id)
    assert data_of(api.get(f"/v1/jobs/{mine_job}", headers=pinned.headers))["id"] == mine_job
    assert_error(api.get(f"/v1/jobs/{theirs_job}", headers=pinned.headers), 404, "not_found")
    listed = data_of(api.get("/v1/jobs", headers=pinned.headers))
    assert [j["id"] for j in listed] == [mine_job]


def test_the_list_filters_by_type_status_and_resource_and_pages(
    api: TestClient, database: Database, team: Team, owner: Key
) -> None:
    a = _enqueue(database, team, "env_a", type="cache.purge")
    b = _enqueue(database, team, "env_b", type="cache.purge")
    c = _enqueue(database, team, "env_a", type="other")
    with database.session() as session:
        from datetime import timedelta

        from forge.clock import utcnow

        claimed = service.claim(session, "w", ["other"], timedelta(seconds=10), utcnow())
        assert claimed is not None and claimed.id == c

    def ids(query: str) -> list[str]:
        return [j["id"] for j in data_of(api.get(f"/v1/jobs{query}", headers=owner.headers))]

    assert ids("") == [c, b, a]
    assert ids("?type=cache.purge") == [b, a]
    assert ids("?status=running") == [c]
    assert ids("?status=queued&resource=env_a") == [a]
    assert ids("?resource=env_a") == [c, a]
    page = api.get("/v1/jobs?limit=2", headers=owner.headers).json()
    assert [j["id"] for j in page["data"]] == [c, b] and page["has_more"] is True
    rest = api.get(f"/v1/jobs?limit=2&starting_after={b}", headers=owner.headers).json()
    assert [j["id"] for j in rest["data"]] == [a] and rest["has_more"] is False
    assert_error(
        api.get("/v1/jobs?status=done", headers=owner.headers), 422, "validation_error", "status"
    )


@pytest.mark.parametrize("wait", ["31", "-1", "soon"])
def test_wait_is_0_to_30_seconds(
    api: TestClient, database: Database, team: Team, owner: Key, wait: str
) -> None:
    job_id = _enqueue(database, team, "env_1")
    response = api.get(f"/v1/jobs/{job_id}?wait={wait}", headers=owner.headers)
    assert_error(response, 422, "validation_error", "wait")


def test_wait_answers_at_its_end_with_the_job_still_unfinished(
    api: TestClient, database: Database, team: Team, owner: Key
) -> None:
    job_id = _enqueue(database, team, "env_1")
    job = data_of(api.get(f"/v1/jobs/{job_id}?wait=1", headers=owner.headers))
    assert job["status"] == "queued"


def _finish_later(
    database: Database, job_id: str, publish: Callable[[str, str], None]
) -> threading.Thread:
    """Plays the worker: claims and finishes the job once the waiter is waiting."""

    def finish() -> None:
        from datetime import timedelta

        from forge.clock import utcnow

        time.sleep(0.3)  # let the request start waiting; the result does not depend on it
        with database.session() as session:
            service.claim(session, "w", ["test.echo"], timedelta(seconds=10), utcnow())
        with database.session() as session:
            service.succeed(session, job_id, "w", {"done": True}, utcnow())
        publish("job.finished", job_id)

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


@pytest.fixture
def no_fallback_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a notification can end the wait before it runs out."""
    monkeypatch.setattr(waiting, "FALLBACK_POLL_SECONDS", 60.0)


def _waited_for(api: TestClient, owner: Key, job_id: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    job = data_of(api.get(f"/v1/jobs/{job_id}?wait=30", headers=owner.headers))
    return job, time.monotonic() - started


@pytest.mark.usefixtures("no_fallback_poll")
def test_wait_returns_as_soon_as_the_job_finishes_in_this_process(
    api: TestClient, database: Database, team: Team, owner: Key
) -> None:
    job_id = _enqueue(database, team, "env_1")
    notifier: Any = api.app.state.notifier  # type: ignore[attr-defined]
    worker = _finish_later(database, job_id, notifier.publish)
    job, waited = _waited_for(api, owner, job_id)
    worker.join()
    assert job["status"] == "succeeded" and job["result"] == {"done": True}
    assert waited < 15, waited  # woken, not run out (generous bound for a loaded machine)


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY: the PostgreSQL pass")
@pytest.mark.usefixtures("no_fallback_poll")
def test_wait_is_woken_by_a_worker_in_another_process_through_postgresql(
    api: TestClient, database: Database, database_url: str, team: Team, owner: Key
) -> None:
    job_id = _enqueue(database, team, "env_1")
    elsewhere = PostgresNotifier(database_url)  # its own connections, as another process's
    try:
        worker = _finish_later(database, job_id, elsewhere.publish)
        job, waited = _waited_for(api, owner, job_id)
        worker.join()
    finally:
        elsewhere.close()
    assert job["status"] == "succeeded"
    assert waited < 15, waited
