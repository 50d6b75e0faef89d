"""What the edge loads: each environment's set in force in one query, compiled once per
version and process, a new version replacing the old one without a restart."""

from __future__ import annotations

from sqlalchemy import event
from starlette.testclient import TestClient

from forge.db import Database
from forge.redirects import service
from forge.redirects.cache import COMPILED, CompiledCache
from forge.redirects.engine import Rule
from tests.assertions import data_of
from tests.factories import SecretsWorld, World, redirects_path


def _put(api: TestClient, w: SecretsWorld, rules: list[dict[str, str]]) -> None:
    data_of(api.put(redirects_path(w.env), json={"rules": rules}, headers=w.owner.headers))


def test_current_rule_sets_loads_many_environments_in_one_query(
    api: TestClient, world: World, database: Database
) -> None:
    w = SecretsWorld.make(world)
    other = world.environment(w.site, "staging")
    never = world.environment(w.site, "preview")
    _put(api, w, [{"from": "/a", "to": "/b"}])
    _put(api, w, [{"from": "/a", "to": "/c"}, {"from": "/x/*", "to": "/y/:splat"}])
    data_of(
        api.put(
            redirects_path(other),
            json={"rules": [{"from": "/s", "to": "/t", "status": 302}]},
            headers=w.owner.headers,
        )
    )
    statements: list[str] = []
    with database.session() as session:
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
        loaded = service.current_rule_sets(session, [w.env.id, other.id, never.id])
    assert len(statements) == 1
    assert loaded == {
        w.env.id: (2, [Rule("/a", "/c"), Rule("/x/*", "/y/:splat")]),
        other.id: (1, [Rule("/s", "/t", 302)]),
        never.id: (0, []),
    }


def test_compiled_sets_are_cached_per_version_and_replaced_by_a_new_one(
    api: TestClient, world: World, database: Database
) -> None:
    COMPILED.clear()
    w = SecretsWorld.make(world)
    _put(api, w, [{"from": "/a", "to": "/one"}])
    with database.session() as session:
        version, first = service.compiled_rule_sets(session, [w.env.id])[w.env.id]
        again = service.compiled_rule_sets(session, [w.env.id])[w.env.id][1]
    assert version == 1 and again is first
    match = first.match("/a", "")
    assert match is not None and match.location == "/one"
    _put(api, w, [{"from": "/a", "to": "/two"}])
    with database.session() as session:
        version, second = service.compiled_rule_sets(session, [w.env.id])[w.env.id]
    match = second.match("/a", "")
    assert version == 2 and match is not None and match.location == "/two"
    assert COMPILED.get(w.env.id, 1) is None
    assert COMPILED.get(w.env.id, 2) is second


def test_the_cache_keeps_the_newest_version_and_a_bounded_number_of_environments() -> None:
    cache = CompiledCache(max_environments=2)
    newer = cache.put("env_a", 5, [Rule("/a", "/five")])
    cache.put("env_a", 4, [Rule("/a", "/four")])  # a slow loader's older version
    assert cache.get("env_a", 5) is newer
    assert cache.get("env_a", 4) is None
    cache.put("env_b", 1, [])
    cache.get("env_a", 5)  # env_a used last: env_b goes first
    cache.put("env_c", 1, [])
    assert cache.get("env_b", 1) is None
    assert cache.get("env_a", 5) is newer
    assert cache.get("env_c", 1) is not None
