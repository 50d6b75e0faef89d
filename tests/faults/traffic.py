"""A bounded stream of requests against a served Forge, every answer recorded, and the checks
every fault test ends with: each accepted write is stored whole, nothing else is half there,
and a revoked key stays refused."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forge.crypto.keyring import Keyring, decode_key, key_id_of
from forge.db import Database
from forge.secrets.models import Secret, SecretVersion
from forge.secrets.values import open_version
from forge.sites.models import Environment
from tests.assertions import assert_error, data_of
from tests.factories import Key, secrets_path
from tests.served import SHARED_MASTER_KEY

DEADLINE = 30.0  # how long any awaited condition may take before the test fails
# A request must be answered within this, outage or not: a hanging request fails the test.
REQUEST_TIMEOUT = 15.0


def shared_keyring() -> Keyring:
    key = decode_key(SHARED_MASTER_KEY, "FORGE_MASTER_KEY")
    return Keyring({key_id_of(key): key}, key_id_of(key), "FORGE_MASTER_KEY")


@dataclass(frozen=True)
class Answer:
    kind: str  # "write" (a secret value set) or "read" (the secret list)
    name: str | None  # the secret a write set
    value: str | None
    sent: float  # time.monotonic() when sent
    took: float
    status: int | None  # None: no HTTP answer (the connection failed)
    body: Any

    @property
    def answered_at(self) -> float:
        return self.sent + self.took


def assert_unavailable(answer: Answer) -> None:
    """A 503 in the `/v1` error shape, with Retry-After (what every outage must answer)."""
    assert answer.status == 503, answer
    body = answer.body
    assert set(body) == {"error", "request_id"}, body
    assert body["error"]["code"] == "service_unavailable", body
    assert body["error"]["type"] == "api_error", body
    assert body["request_id"].startswith("req_"), body


class Traffic:
    """`threads` clients, each going round `kinds`: a secret write (a fresh name and value
    every time), a read of the list; until stopped or `limit` requests in all. Every answer
    is kept."""

    def __init__(
        self,
        base: str,
        key: Key,
        env: Environment,
        kinds: tuple[str, ...] = ("write", "read"),
        threads: int = 3,
        limit: int = 20_000,  # a bound, not a pace: an outage's fast 503s on a quiet machine
    ) -> None:
        self.base, self.key, self.env, self.kinds = base, key, env, kinds
        self.answers: list[Answer] = []
        self._numbers = itertools.count()
        self._limit = limit
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT * 2)
            assert not thread.is_alive(), "a request of the traffic never ended"

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as http:
            while not self._stop.is_set():
                number = next(self._numbers)
                if number >= self._limit:
                    return
                self._record(self._one(http, number))

    def send_one(self) -> Answer:
        """One more request of the traffic's, sent now and kept with the others (whether or
        not the threads have reached their limit)."""
        with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as http:
            answer = self._one(http, next(self._numbers))
        self._record(answer)
        return answer

    def _one(self, http: httpx.Client, number: int) -> Answer:
        kind = self.kinds[number % len(self.kinds)]
        name = value = None
        sent = time.monotonic()
        try:
            if kind == "write":
                name, value = f"FAULT_{number:05d}", f"value-{number}-{sent}"
                response = http.put(
                    secrets_path(self.env, name), headers=self.key.headers, json={"value": value}
                )
            else:
                response = http.get(secrets_path(self.env), headers=self.key.headers)
        except httpx.TimeoutException as err:
            raise AssertionError(f"a request hung past {REQUEST_TIMEOUT} s") from err
        except httpx.TransportError:
            return Answer(kind, name, value, sent, time.monotonic() - sent, None, None)
        return Answer(
            kind, name, value, sent, time.monotonic() - sent, response.status_code, response.json()
        )

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.sent >= moment]

    def wait_for(self, matches: Callable[[Answer], bool], sent_after: float) -> Answer:
        """The first answer to a request sent after `sent_after` that `matches` (bounded)."""
        deadline = time.monotonic() + DEADLINE
        while True:
            found = [a for a in self.since(sent_after) if matches(a)]
            if found:
                return min(found, key=lambda a: a.answered_at)
            assert time.monotonic() < deadline, f"no such answer within {DEADLINE} s"
            assert any(t.is_alive() for t in self._threads), "the traffic ended first"
            time.sleep(0.02)

    def accepted(self) -> dict[str, str]:
        """Every write answered 2xx: secret name → the value sent."""
        with self._lock:
            return {
                a.name: a.value
                for a in self.answers
                if a.kind == "write" and a.status == 200 and a.name and a.value
            }

    def attempted(self) -> dict[str, str]:
        with self._lock:
            return {a.name: a.value for a in self.answers if a.name and a.value}


def assert_writes_whole(
    database: Database, env: Environment, accepted: dict[str, str], attempted: dict[str, str]
) -> None:
    """Every accepted write is stored with exactly the value sent; every secret row of the
    environment is one that was attempted, with all its versions and each one opening to the
    value sent (a write answered otherwise either happened whole or not at all)."""
    keyring = shared_keyring()
    with database.session() as session:
        where = session.get_one(Environment, env.id, options=[selectinload(Environment.site)])
        rows = session.scalars(select(Secret).where(Secret.environment_id == env.id)).all()
        stored: dict[str, str] = {}
        for row in rows:
            assert row.name in attempted, f"{row.name} was never sent"
            versions = session.scalars(
                select(SecretVersion)
                .where(SecretVersion.secret_id == row.id)
                .order_by(SecretVersion.version)
            ).all()
            assert row.has_value and row.latest_version == len(versions) == 1, row.name
            stored[row.name] = open_version(keyring, where, row.name, versions[0]).decode()
            assert stored[row.name] == attempted[row.name], row.name
    lost = sorted(set(accepted) - set(stored))
    assert not lost, f"accepted writes lost: {lost}"


def assert_nothing_lost(database: Database, traffic: Traffic, revoked: Key) -> None:
    """What every fault ends with: the traffic's writes whole, the revoked key refused."""
    assert_writes_whole(database, traffic.env, traffic.accepted(), traffic.attempted())
    assert_still_revoked(traffic.base, revoked)


def revoke_through(base: str, owner: Key) -> Key:
    """A new key of `owner`'s, minted and then revoked through the served API before a fault."""
    with httpx.Client(base_url=base, headers=owner.headers, timeout=DEADLINE) as http:
        created = data_of(
            http.post("/v1/api-keys", json={"name": "revoked", "scopes": ["secrets:read"]}), 201
        )
        data_of(http.delete(f"/v1/api-keys/{created['id']}"))
    revoked = Key(created["id"], created["secret"], created["prefix"])
    assert_still_revoked(base, revoked)
    return revoked


def assert_still_revoked(base: str, revoked: Key) -> None:
    response = httpx.get(f"{base}/v1/api-keys/self", headers=revoked.headers, timeout=DEADLINE)
    assert_error(response, 401, "authentication")
