"""`forge serve` killed with SIGKILL in the middle of concurrent writes, then started again on
the same database: every write answered 2xx is there and whole, no secret version, key or key
secret is half-written, every Idempotency-Key of the burst ends with exactly one resource (a
claim the dead process left running answers 409 until it is abandoned, then is taken over,
docs/idempotency.md), and a key revoked before the kill stays refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from forge.db import Database
from forge.idempotency.models import IdempotencyRecord
from forge.idempotency.service import ABANDONED_AFTER
from forge.keys.models import ApiKey, KeySecret
from forge.secrets.models import Secret
from tests.assertions import assert_error, data_of
from tests.conftest import BACKEND
from tests.factories import SecretsWorld, World, bearer, secrets_path
from tests.faults.traffic import (
    DEADLINE,
    REQUEST_TIMEOUT,
    assert_still_revoked,
    assert_writes_whole,
    revoke_through,
)
from tests.served import ForgeServer

UNLIMITED = {
    "FORGE_RATELIMIT_READ": "1000000",
    "FORGE_RATELIMIT_WRITE": "1000000",
    "FORGE_RATELIMIT_CREATE": "1000000",
}
BURST = 120  # writes in all, half secret values, half key creates with an Idempotency-Key
KILL_AFTER = 20  # answers before the SIGKILL: the rest are in flight or never sent


@pytest.fixture
def server(database_url: str, database: Database, tmp_path: Path) -> Iterator[ForgeServer]:
    with ForgeServer(database_url, tmp_path / "data", env=UNLIMITED) as started:
        yield started


def _create_key(number: int) -> tuple[str, dict[str, Any]]:
    """The path and body of burst key `number`; sent with Idempotency-Key `burst-{number}`."""
    return "/v1/api-keys", {"name": f"burst-{number}", "scopes": ["secrets:read"]}


class Burst:
    """BURST writes from 8 threads; each answer (or None: the connection died) by number."""

    def __init__(self, server: ForgeServer, w: SecretsWorld) -> None:
        self.server, self.w = server, w
        self.answers: dict[int, httpx.Response | None] = {}
        self.answered = threading.Semaphore(0)

    def _one(self, number: int) -> None:
        try:
            with httpx.Client(base_url=self.server.base, timeout=REQUEST_TIMEOUT) as http:
                if number % 2 == 0:
                    response = http.put(
                        secrets_path(self.w.env, _secret_name(number)),
                        headers=self.w.owner.headers,
                        json={"value": _secret_value(number)},
                    )
                else:
                    path, body = _create_key(number)
                    headers = {**self.w.owner.headers, "Idempotency-Key": f"burst-{number}"}
                    response = http.post(path, headers=headers, json=body)
        except httpx.TimeoutException as err:
            raise AssertionError("a request hung") from err
        except httpx.TransportError:
            self.answers[number] = None
            return
        self.answers[number] = response
        self.answered.release()

    def run_and_kill(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            done = [pool.submit(self._one, number) for number in range(BURST)]
            for _ in range(KILL_AFTER):
                assert self.answered.acquire(timeout=DEADLINE), "the burst was not answered"
            self.server.kill()
            for future in done:
                future.result(timeout=DEADLINE)

    def accepted_secrets(self) -> dict[str, str]:
        return {
            _secret_name(n): _secret_value(n)
            for n, answer in self.answers.items()
            if n % 2 == 0 and answer is not None and answer.status_code == 200
        }

    def minted(self) -> dict[int, dict[str, Any]]:
        return {
            n: answer.json()["data"]
            for n, answer in self.answers.items()
            if n % 2 == 1 and answer is not None and answer.status_code == 201
        }


def _secret_name(number: int) -> str:
    return f"BURST_{number:03d}"


def _secret_value(number: int) -> str:
    return f"burst-value-{number}"


def _abandon_running_claims(database: Database) -> int:
    """Move the running claims' lock time back past ABANDONED_AFTER, as if that much time had
    passed since the dead process took them (no service moves time, so this writes the rows)."""
    with database.session() as session:
        running = session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.state == "running")
        ).all()
        for record in running:
            record.locked_at -= ABANDONED_AFTER + timedelta(seconds=1)
        return len(running)


def _assert_keys_whole(database: Database, team_id: str) -> dict[str, int]:
    """Every key of the burst has exactly one secret; how many keys carry each name."""
    with database.session() as session:
        secrets_per_key = dict(
            session.execute(
                select(ApiKey.name, func.count(KeySecret.id))
                .join(KeySecret, KeySecret.key_id == ApiKey.id, isouter=True)
                .where(ApiKey.team_id == team_id, ApiKey.name.like("burst-%"))
                .group_by(ApiKey.id, ApiKey.name)
            ).all()
        )
        assert set(secrets_per_key.values()) <= {1}, secrets_per_key
        names = session.scalars(
            select(ApiKey.name).where(ApiKey.team_id == team_id, ApiKey.name.like("burst-%"))
        ).all()
        done_without_answer = session.scalars(
            select(IdempotencyRecord.key).where(
                IdempotencyRecord.state == "done", IdempotencyRecord.response_status.is_(None)
            )
        ).all()
        assert not done_without_answer, done_without_answer
    return {name: names.count(name) for name in set(names)}


def _created(answer: httpx.Response) -> dict[str, Any]:
    """A 201's data; a replay's body keeps the first request's id (its header is its own)."""
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def _retry(server: ForgeServer, w: SecretsWorld, number: int) -> httpx.Response:
    path, body = _create_key(number)
    headers = {**w.owner.headers, "Idempotency-Key": f"burst-{number}"}
    return server.http.post(path, headers=headers, json=body)


def test_a_kill_9_mid_write_leaves_nothing_half_written_and_loses_nothing_accepted(
    server: ForgeServer, world: World, database: Database
) -> None:
    w = SecretsWorld.make(world)
    revoked = revoke_through(server.base, w.owner)
    burst = Burst(server, w)
    burst.run_and_kill()
    killed = time.monotonic()
    server.start()
    restarted_in = time.monotonic() - killed

    assert_writes_whole(
        database,
        w.env,
        burst.accepted_secrets(),
        {_secret_name(n): _secret_value(n) for n in range(0, BURST, 2)},
    )
    minted = burst.minted()
    for data in minted.values():  # every key answered 201 works, with the secret it was given
        answer = server.http.get("/v1/api-keys/self", headers=bearer(data["secret"]))
        assert data_of(answer)["id"] == data["id"]
    assert max(_assert_keys_whole(database, w.team.id).values(), default=1) == 1

    # Every create is retried with its Idempotency-Key until it has its one key: a replay of
    # what was stored, a fresh run of one that never got as far, or (a claim the dead process
    # left running) 409 until the claim is abandoned.
    in_progress = []
    for number in range(1, BURST, 2):
        answer = _retry(server, w, number)
        if answer.status_code == 409:
            assert_error(answer, 409, "idempotency_in_progress", "Idempotency-Key")
            assert answer.headers["retry-after"] == "1"
            in_progress.append(number)
            continue
        data = _created(answer)
        if number in minted:  # stored with the create: the replay, without the secret
            assert answer.headers["idempotent-replayed"] == "true"
            assert data == {k: v for k, v in minted[number].items() if k != "secret"}
    assert _abandon_running_claims(database) == len(in_progress)
    for number in in_progress:
        fresh = _retry(server, w, number)
        assert "idempotent-replayed" not in fresh.headers
        data_of(fresh, 201)
    counts = _assert_keys_whole(database, w.team.id)
    assert counts == {f"burst-{n}": 1 for n in range(1, BURST, 2)}
    assert_still_revoked(server.base, revoked)
    print(
        f"\nfault figures: kill -9 after {KILL_AFTER} of {BURST} answers;"
        f" in flight or unsent {sum(a is None for a in burst.answers.values())};"
        f" claims left running {len(in_progress)}; restart to healthy {restarted_in:.3f} s"
    )


@pytest.mark.skipif(BACKEND != "postgresql", reason="holds a row lock from another session")
def test_a_claim_left_running_by_a_killed_process_answers_409_then_is_taken_over(
    server: ForgeServer, world: World, database: Database
) -> None:
    """Deterministically mid-write: the test holds an uncommitted `HELD` secret, so the
    server's declare of `HELD` has committed its claim and waits on the unique index when the
    process is killed."""
    w = SecretsWorld.make(world)
    headers = {**w.owner.headers, "Idempotency-Key": "held"}
    answers: list[httpx.Response | None] = []

    def declare() -> None:
        try:
            answers.append(
                server.http.post(secrets_path(w.env), headers=headers, json={"key": "HELD"})
            )
        except httpx.TransportError:
            answers.append(None)

    with database.session() as holder:
        holder.add(Secret(environment_id=w.env.id, name="HELD"))
        holder.flush()
        sender = threading.Thread(target=declare)
        sender.start()
        _wait_for_running_claim(database, "held")
        server.kill()
        sender.join(DEADLINE)
        holder.rollback()
    assert answers == [None]

    server.start()
    waiting = server.http.post(secrets_path(w.env), headers=headers, json={"key": "HELD"})
    assert_error(waiting, 409, "idempotency_in_progress", "Idempotency-Key")
    assert _abandon_running_claims(database) == 1
    taken_over = server.http.post(secrets_path(w.env), headers=headers, json={"key": "HELD"})
    assert data_of(taken_over, 201)["key"] == "HELD"
    assert "idempotent-replayed" not in taken_over.headers
    replayed = server.http.post(secrets_path(w.env), headers=headers, json={"key": "HELD"})
    assert replayed.headers["idempotent-replayed"] == "true"
    with database.session() as session:
        held = select(func.count()).where(Secret.environment_id == w.env.id, Secret.name == "HELD")
        assert session.scalar(held) == 1


def _wait_for_running_claim(database: Database, key: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        with database.engine.connect() as connection:
            state = connection.scalar(
                select(IdempotencyRecord.state).where(IdempotencyRecord.key == key)
            )
        if state == "running":
            return
        assert time.monotonic() < deadline, "the server never claimed the key"
        time.sleep(0.02)
