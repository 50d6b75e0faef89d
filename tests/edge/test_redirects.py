"""Redirects answered by the edge before its cache, and a new rule set in force within 1 s."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI
from starlette.testclient import TestClient

from forge.config import Settings
from forge.db import Database
from forge.sites.models import Environment
from tests.edge.conftest import EdgeThread, wait_for
from tests.edge.origin import Answer, Origin
from tests.factories import World


def _put_rules(api: TestClient, env: Environment, key: str) -> None:
    response = api.put(
        f"/v1/sites/{env.site_id}/environments/{env.id}/redirects",
        headers={"Authorization": f"Bearer {key}"},
        json={"rules": [{"from": "/old/*", "to": "/new/:splat", "status": 301}]},
    )
    assert response.status_code == 200, response.text


def _rules_in_force_within_a_second(
    world: World, origin: Origin, api: TestClient, edge: EdgeThread
) -> None:
    team = world.team()
    env = world.hosted_environment(origin.url, team=team)
    key = world.owner_key(team)
    origin.answers["/old/page"] = Answer(headers={"Cache-Control": "max-age=600"}, body=b"cached")
    with httpx.Client(base_url=edge.url, headers={"Host": env.hostnames[0]}) as http:
        wait_for(lambda: http.get("/old/page").status_code == 200, "the environment")
        assert http.get("/old/page").headers["forge-cache"] == "HIT"
        _put_rules(api, env, key.secret)
        started = time.monotonic()
        wait_for(lambda: http.get("/old/page?x=1").status_code == 301, "the new rule set")
        assert time.monotonic() - started < 1.0
        moved = http.get("/old/page?x=1")
        assert moved.headers["location"] == "/new/page?x=1"
        # The cached response no longer shadows the rule.
        assert http.get("/old/page").status_code == 301
        assert http.get("/elsewhere").status_code == 404


def test_rule_set_pushed_to_an_edge_in_the_same_process(
    world: World,
    origin: Origin,
    app: FastAPI,
    api: TestClient,
    edge_settings: Settings,
    database: Database,
) -> None:
    edge = EdgeThread(edge_settings, database, app.state.notifier).start()
    try:
        _rules_in_force_within_a_second(world, origin, api, edge)
    finally:
        edge.stop()


def test_rule_set_reaches_an_edge_without_notifications(
    world: World, origin: Origin, api: TestClient, edge_settings: Settings, database: Database
) -> None:
    edge = EdgeThread(edge_settings, database, None).start()
    try:
        _rules_in_force_within_a_second(world, origin, api, edge)
    finally:
        edge.stop()
