"""Editors racing a replacement: with the same If-Match exactly one wins, the rest get 412 and
nothing of theirs is written; without If-Match every replacement is its own version. Each race
releases its clients (own event loops) together by a barrier, for several rounds."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.db import Database
from forge.redirects.models import RedirectVersion
from tests.factories import SecretsWorld, World, redirects_path

Send = Callable[[TestClient, int], httpx.Response]
EDITORS = 4


def _race(app: FastAPI, send: Send, clients: int = EDITORS) -> list[httpx.Response]:
    barrier = threading.Barrier(clients)
    responses: list[httpx.Response] = []
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with TestClient(app) as client:
                barrier.wait(timeout=10)
                responses.append(send(client, n))
        except BaseException as err:  # surfaced in the main thread below
            failures.append(err)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return responses


def _versions(database: Database, env_id: str) -> list[tuple[int, bytes]]:
    with database.session() as session:
        rows = session.execute(
            select(RedirectVersion.version, RedirectVersion.rules)
            .where(RedirectVersion.environment_id == env_id)
            .order_by(RedirectVersion.version)
        )
        return [(version, rules) for version, rules in rows]


def test_editors_with_the_same_if_match_exactly_one_wins(
    app: FastAPI, world: World, database: Database
) -> None:
    w = SecretsWorld.make(world)
    for round_ in range(3):
        etag = f'"v{round_}"'

        def send(client: TestClient, n: int, etag: str = etag) -> httpx.Response:
            rules = [{"from": f"/editor-{n}", "to": "/mine"}]
            return client.put(
                redirects_path(w.env),
                json={"rules": rules},
                headers={**w.owner.headers, "If-Match": etag},
            )

        responses = _race(app, send)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [412] * (EDITORS - 1), [r.text for r in responses]
        [winner] = [r for r in responses if r.status_code == 200]
        stored = _versions(database, w.env.id)
        assert [v for v, _ in stored] == list(range(1, round_ + 2))
        # The version written is the winner's set, and the losers were told the new tag.
        winning_rule = winner.json()["data"]["rules"][0]["from"]
        assert winning_rule.encode() in stored[-1][1]
        for loser in (r for r in responses if r.status_code == 412):
            assert loser.headers["etag"] == f'"v{round_ + 1}"'


def test_editors_without_if_match_each_make_a_version(
    app: FastAPI, world: World, database: Database
) -> None:
    w = SecretsWorld.make(world)

    def send(client: TestClient, n: int) -> httpx.Response:
        rules = [{"from": f"/editor-{n}", "to": "/mine"}]
        return client.put(redirects_path(w.env), json={"rules": rules}, headers=w.owner.headers)

    responses = _race(app, send)
    assert sorted(r.status_code for r in responses) == [200] * EDITORS
    assert sorted(r.json()["data"]["version"] for r in responses) == list(range(1, EDITORS + 1))
    assert [v for v, _ in _versions(database, w.env.id)] == list(range(1, EDITORS + 1))
