"""The seed-000 redirect routes under /v1/sites/{site}/environments/{env}/redirects."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.audit.models import AuditEvent
from forge.db import Database
from forge.notify import LocalHub
from forge.redirects.models import RedirectVersion
from tests.assertions import assert_error, data_of
from tests.factories import SecretsWorld, World, redirects_path

RULES = [
    {"from": "/old", "to": "/new"},
    {"from": "/blog/*", "to": "/news/:splat", "status": 302, "comment": "moved in 2026"},
    {"from": "/u/:id", "to": "https://people.example.com/:id?src=forge", "status": 308},
]


def _put(api: TestClient, w: SecretsWorld, rules: list[dict[str, Any]], **headers: str) -> Any:
    return api.put(
        redirects_path(w.env),
        json={"rules": rules},
        headers={**w.owner.headers, **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


def _stored_versions(database: Database, env_id: str) -> list[int]:
    with database.session() as session:
        return list(
            session.scalars(
                select(RedirectVersion.version)
                .where(RedirectVersion.environment_id == env_id)
                .order_by(RedirectVersion.version)
            )
        )


def test_a_new_environment_has_the_empty_set_at_version_0(api: TestClient, w: SecretsWorld) -> None:
    response = api.get(redirects_path(w.env), headers=w.owner.headers)
    assert data_of(response) == {
        "rules": [],
        "version": 0,
        "updated_at": None,
        "updated_by": None,
    }
    assert response.headers["etag"] == '"v0"'


def test_put_replaces_the_whole_set_and_get_answers_it_in_order(
    api: TestClient, w: SecretsWorld
) -> None:
    written = _put(api, w, RULES)
    data = data_of(written)
    assert written.headers["etag"] == '"v1"'
    assert data["version"] == 1
    assert data["warnings"] == []
    assert data["updated_at"].endswith("Z")
    assert data["rules"] == [
        {"from": "/old", "to": "/new", "status": 301, "comment": None},
        {"from": "/blog/*", "to": "/news/:splat", "status": 302, "comment": "moved in 2026"},
        {
            "from": "/u/:id",
            "to": "https://people.example.com/:id?src=forge",
            "status": 308,
            "comment": None,
        },
    ]
    read = api.get(redirects_path(w.env), headers=w.owner.headers)
    assert read.headers["etag"] == '"v1"'
    assert data_of(read) == {k: v for k, v in data.items() if k != "warnings"}
    # Full replacement, not a delta: what is not sent is gone.
    data_of(_put(api, w, [RULES[0]]))
    assert [
        r["from"] for r in data_of(api.get(redirects_path(w.env), headers=w.owner.headers))["rules"]
    ] == ["/old"]


def test_an_empty_list_is_a_valid_set(api: TestClient, w: SecretsWorld) -> None:
    data_of(_put(api, w, RULES))
    data = data_of(_put(api, w, []))
    assert (data["rules"], data["version"]) == ([], 2)


def test_a_stale_if_match_is_412_and_changes_nothing(
    api: TestClient, w: SecretsWorld, database: Database
) -> None:
    data_of(_put(api, w, RULES, If_Match='"v0"'))
    stale = _put(api, w, [], If_Match='"v0"')
    error = assert_error(stale, 412, "precondition_failed", "If-Match")
    assert "version 1" in error["message"]
    assert stale.headers["etag"] == '"v1"'
    assert len(data_of(api.get(redirects_path(w.env), headers=w.owner.headers))["rules"]) == 3
    assert _stored_versions(database, w.env.id) == [1]
    # A weak tag never matches (If-Match compares strongly), nor does a malformed one.
    for tag in ('W/"v1"', "v1", '"v2"'):
        assert_error(_put(api, w, [], If_Match=tag), 412, "precondition_failed")
    assert _stored_versions(database, w.env.id) == [1]


def test_a_matching_if_match_star_or_none_is_accepted(api: TestClient, w: SecretsWorld) -> None:
    assert data_of(_put(api, w, RULES, If_Match='"v0"'))["version"] == 1
    assert data_of(_put(api, w, RULES, If_Match='"v9", "v1"'))["version"] == 2
    assert data_of(_put(api, w, RULES, If_Match="*"))["version"] == 3
    assert data_of(_put(api, w, RULES))["version"] == 4


def test_a_rule_that_multiplies_its_path_is_refused_and_nothing_is_written(
    api: TestClient, w: SecretsWorld, database: Database
) -> None:
    data_of(_put(api, w, RULES))
    response = _put(api, w, [{"from": "/*", "to": "/:splat/x/:splat/:splat"}])
    error = assert_error(response, 422, "validation_error", "rules[0].to")
    assert [(e["index"], e["code"]) for e in error["errors"]] == [(0, "loop")]
    assert _stored_versions(database, w.env.id) == [1]


def test_all_problems_are_one_422_and_nothing_is_written(
    api: TestClient, w: SecretsWorld, database: Database
) -> None:
    data_of(_put(api, w, RULES))
    response = _put(
        api,
        w,
        [
            {"from": "/fine", "to": "/ok"},
            {"from": "no-slash", "to": "/x", "status": 303},
            {"from": "/fine/", "to": "/dup"},
            {"from": "/same", "to": "/same"},
            {"from": "/l1", "to": "/l2"},
            {"from": "/l2", "to": "/l1"},
            {"from": "/*", "to": "https://x.example.com/"},
            {"from": "/never", "to": "https://x.example.com/"},
            {"from": "/long", "to": "/" + "x" * 2048, "comment": "c" * 501},
        ],
    )
    error = assert_error(response, 422, "validation_error", "rules[1].from")
    assert [(e["index"], e["param"], e["code"]) for e in error["errors"]] == [
        (1, "rules[1].from", "malformed"),
        (1, "rules[1].status", "bad_status"),
        (2, "rules[2].from", "duplicate"),
        (3, "rules[3].to", "from_equals_to"),
        (4, "rules[4].to", "loop"),
        (5, "rules[5].to", "loop"),
        (7, "rules[7].from", "shadowed"),
        (8, "rules[8].comment", "too_long"),
        (8, "rules[8].from", "shadowed"),
        (8, "rules[8].to", "too_long"),
    ]
    assert all(set(e) == {"index", "param", "code", "message"} for e in error["errors"])
    assert _stored_versions(database, w.env.id) == [1]
    assert data_of(api.get(redirects_path(w.env), headers=w.owner.headers))["version"] == 1


def test_chains_are_written_and_answered_as_warnings(api: TestClient, w: SecretsWorld) -> None:
    data = data_of(_put(api, w, [{"from": "/a", "to": "/b"}, {"from": "/b", "to": "/c"}]))
    assert data["version"] == 1
    [warning] = data["warnings"]
    assert (warning["index"], warning["param"], warning["code"]) == (0, "rules[0].to", "chain")


def test_more_than_100000_rules_is_a_422_naming_the_limit(api: TestClient, w: SecretsWorld) -> None:
    rules = [{"from": f"/r{i}", "to": "/t"} for i in range(100_001)]
    error = assert_error(_put(api, w, rules), 422, "validation_error", "rules")
    assert error["errors"][0]["code"] == "too_many_rules"
    assert "100,000" in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rules": "nope"},
        {"rules": [{"from": "/a"}]},
        {"rules": [{"from": "/a", "to": "/b", "extra": 1}]},
        {"rules": [{"from": 5, "to": "/b"}]},
        {"rules": [], "version": 3},
    ],
)
def test_a_body_of_the_wrong_shape_is_422(
    api: TestClient, w: SecretsWorld, body: dict[str, Any]
) -> None:
    response = api.put(redirects_path(w.env), json=body, headers=w.owner.headers)
    assert_error(response, 422, "validation_error")


def test_malformed_json_is_400(api: TestClient, w: SecretsWorld) -> None:
    response = api.put(
        redirects_path(w.env),
        content=b'{"rules": [',
        headers={**w.owner.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_request")


def test_the_put_takes_bodies_up_to_16_mib_whatever_the_global_limit(
    api: TestClient, w: SecretsWorld
) -> None:
    comment = "c" * 500
    rules = [{"from": f"/r{i}", "to": "/t", "comment": comment} for i in range(4000)]
    body = orjson.dumps({"rules": rules})
    assert 1024 * 1024 < len(body) < 16 * 1024 * 1024  # over the default global limit
    headers = {**w.owner.headers, "Content-Type": "application/json"}
    assert data_of(api.put(redirects_path(w.env), content=body, headers=headers))["version"] == 1
    # The same size elsewhere is refused by the global limit.
    assert_error(
        api.post(redirects_path(w.env, "test"), content=body, headers=headers),
        413,
        "payload_too_large",
    )
    padding = b" " * (16 * 1024 * 1024)
    huge = api.put(redirects_path(w.env), content=b'{"rules": []}' + padding, headers=headers)
    assert_error(huge, 413, "payload_too_large")


def test_scopes_are_enforced(api: TestClient, world: World, w: SecretsWorld) -> None:
    reader = world.key(w.team, world.member(w.team), scopes=["redirects:read"])
    writer = world.key(w.team, world.member(w.team), scopes=["redirects:write"])
    body = {"rules": RULES}
    for response in (
        api.put(redirects_path(w.env), json=body, headers=reader.headers),
        api.post(redirects_path(w.env, "versions/1/restore"), headers=reader.headers),
    ):
        error = assert_error(response, 403, "insufficient_scope")
        assert error["required_scope"] == "redirects:write"
    for response in (
        api.get(redirects_path(w.env), headers=writer.headers),
        api.get(redirects_path(w.env, "versions"), headers=writer.headers),
        api.post(redirects_path(w.env, "test"), json={"path": "/a"}, headers=writer.headers),
    ):
        error = assert_error(response, 403, "insufficient_scope")
        assert error["required_scope"] == "redirects:read"
    assert api.get(redirects_path(w.env), headers=reader.headers).status_code == 200
    assert data_of(api.put(redirects_path(w.env), json=body, headers=writer.headers))


def test_another_teams_or_modes_environment_is_404(
    api: TestClient, world: World, w: SecretsWorld
) -> None:
    stranger = world.owner_key()
    live = world.owner_key(w.team, mode="live")
    other_site_env = world.environment(world.site(w.team), "production")
    wrong_site = f"/v1/sites/{w.site.id}/environments/{other_site_env.id}/redirects"
    for key in (stranger, live):
        for response in (
            api.get(redirects_path(w.env), headers=key.headers),
            api.put(redirects_path(w.env), json={"rules": []}, headers=key.headers),
            api.post(redirects_path(w.env, "test"), json={"path": "/"}, headers=key.headers),
            api.get(redirects_path(w.env, "versions"), headers=key.headers),
        ):
            assert_error(response, 404, "not_found")
    assert_error(api.get(wrong_site, headers=w.owner.headers), 404, "not_found", "env")


def test_versions_list_newest_first_and_paginate(api: TestClient, w: SecretsWorld) -> None:
    for n in range(1, 4):
        data_of(_put(api, w, RULES[:n]))
    page = api.get(redirects_path(w.env, "versions"), params={"limit": 2}, headers=w.owner.headers)
    body = page.json()
    assert [v["version"] for v in body["data"]] == [3, 2]
    assert [v["rule_count"] for v in body["data"]] == [3, 2]
    assert body["has_more"] is True
    assert set(body["data"][0]) == {
        "version",
        "rule_count",
        "restored_from",
        "created_by",
        "created_at",
    }
    assert body["data"][0]["created_by"] is not None
    rest = api.get(
        redirects_path(w.env, "versions"),
        params={"limit": 2, "starting_after": 2},
        headers=w.owner.headers,
    ).json()
    assert ([v["version"] for v in rest["data"]], rest["has_more"]) == ([1], False)


def test_restore_makes_a_new_version_equal_to_the_old_one(api: TestClient, w: SecretsWorld) -> None:
    data_of(_put(api, w, RULES))
    data_of(_put(api, w, []))
    restored = api.post(redirects_path(w.env, "versions/1/restore"), headers=w.owner.headers)
    data = data_of(restored)
    assert restored.headers["etag"] == '"v3"'
    assert data["version"] == 3
    assert [r["from"] for r in data["rules"]] == ["/old", "/blog/*", "/u/:id"]
    versions = api.get(redirects_path(w.env, "versions"), headers=w.owner.headers).json()["data"]
    assert versions[0]["restored_from"] == 1
    # A stale If-Match guards a restore too.
    stale = api.post(
        redirects_path(w.env, "versions/2/restore"),
        headers={**w.owner.headers, "If-Match": '"v1"'},
    )
    assert_error(stale, 412, "precondition_failed")


def test_restore_of_an_unknown_version_is_404(api: TestClient, w: SecretsWorld) -> None:
    data_of(_put(api, w, RULES))
    for n in (2, 99):
        response = api.post(redirects_path(w.env, f"versions/{n}/restore"), headers=w.owner.headers)
        assert_error(response, 404, "not_found", "version")
    assert_error(
        api.post(redirects_path(w.env, "versions/0/restore"), headers=w.owner.headers),
        422,
        "validation_error",
    )


def test_replace_and_restore_are_audited(
    api: TestClient, w: SecretsWorld, database: Database
) -> None:
    data_of(_put(api, w, RULES))
    data_of(api.post(redirects_path(w.env, "versions/1/restore"), headers=w.owner.headers))
    with database.session() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("redirects.%"))
                .order_by(AuditEvent.created_at)
            )
        )
    assert [(e.action, e.resource_id, e.key_id) for e in events] == [
        ("redirects.replaced", w.env.id, e.key_id) for e in events[:1]
    ] + [("redirects.restored", w.env.id, events[1].key_id)]
    assert events[0].data == {"environment_id": w.env.id, "version": 1, "rule_count": 3}
    assert events[1].data == {
        "environment_id": w.env.id,
        "version": 2,
        "restored_from": 1,
        "rule_count": 3,
    }
    assert events[0].key_id is not None and events[0].actor_id is not None


def test_a_replacement_wakes_the_edges_after_it_committed(
    app: FastAPI, api: TestClient, w: SecretsWorld, database: Database
) -> None:
    seen: list[tuple[str, str, list[int]]] = []

    class Recorder(LocalHub):
        def publish(self, channel: str, message: str = "") -> None:
            # What an edge woken now would read: the new version must already be committed.
            seen.append((channel, message, _stored_versions(database, w.env.id)))
            super().publish(channel, message)

        def close(self) -> None:
            pass

    app.state.notifier = Recorder()
    data_of(_put(api, w, RULES))
    data_of(api.post(redirects_path(w.env, "versions/1/restore"), headers=w.owner.headers))
    assert_error(_put(api, w, [{"from": "x", "to": "/y"}]), 422, "validation_error")
    assert seen == [
        ("edge.config_changed", w.env.id, [1]),
        ("edge.config_changed", w.env.id, [1, 2]),
    ]
