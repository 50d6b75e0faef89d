"""Purges as the edge applies them from the log: every selector, wildcard and type, soft
purges revalidated by one request, dry runs, and the proof each one leaves."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from forge.cache.models import Edge, EdgePurgeResult
from forge.db import Database
from forge.sites.models import Environment
from tests.edge.conftest import EdgeThread
from tests.edge.origin import Answer, Origin, Seen
from tests.factories import World

CACHED = {"Cache-Control": "max-age=600"}


def _serve(origin: Origin, path: str, tags: str = "", html: bool = False) -> None:
    headers = dict(CACHED)
    if tags:
        headers["Surrogate-Key"] = tags
    headers["Content-Type"] = "text/html" if html else "application/json"
    origin.answers[path] = Answer(headers=headers, body=path.encode())


def _warm(client: httpx.Client, *targets: str) -> None:
    for target in targets:
        assert client.get(target).headers["forge-cache"] == "MISS"
        assert client.get(target).headers["forge-cache"] == "HIT"


def _state(client: httpx.Client, target: str) -> str:
    return client.get(target).headers["forge-cache"]


def _result(database: Database, seq: int) -> EdgePurgeResult:
    with database.session() as session:
        return session.scalars(
            select(EdgePurgeResult).where(EdgePurgeResult.purge_seq == seq)
        ).one()


def test_purge_by_tag_evicts_only_tagged_entries(
    origin: Origin, client: httpx.Client, purge: Any, database: Database
) -> None:
    _serve(origin, "/one", "product-1 all")
    _serve(origin, "/two", "product-2 all")
    _warm(client, "/one", "/two")
    seq = purge(tags=["product-1"])
    assert _state(client, "/one") == "MISS"
    assert _state(client, "/two") == "HIT"
    result = _result(database, seq)
    assert (result.matched, result.evicted, result.marked_stale) == (1, 1, 0)
    with database.session() as session:
        assert session.scalars(select(Edge.applied_seq)).one() == seq


def test_cache_tag_header_is_comma_separated(
    origin: Origin, client: httpx.Client, purge: Any
) -> None:
    origin.answers["/ct"] = Answer(headers={**CACHED, "Cache-Tag": "alpha, beta two,gamma"})
    _warm(client, "/ct")
    purge(tags=["beta two"])
    assert _state(client, "/ct") == "MISS"


def test_tag_headers_are_stripped_before_the_client(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/t"] = Answer(headers={**CACHED, "Surrogate-Key": "a b", "Cache-Tag": "c"})
    for _ in range(2):
        response = client.get("/t")
        assert "surrogate-key" not in response.headers
        assert "cache-tag" not in response.headers


@pytest.mark.parametrize(
    "tags",
    ["x" * 1025, " ".join(f"tag{i:05d}" for i in range(2000)), "bad\x01tag"],
    ids=["tag-over-1024-bytes", "header-over-16KiB", "not-printable"],
)
def test_refused_tags_mean_not_cached_with_a_log_line(
    origin: Origin, client: httpx.Client, tags: str, caplog: pytest.LogCaptureFixture
) -> None:
    origin.answers["/big"] = Answer(headers={**CACHED, "Surrogate-Key": tags})
    with caplog.at_level("WARNING", logger="forge.edge"):
        assert _state(client, "/big") == "MISS"
        assert _state(client, "/big") == "MISS"
    assert origin.hits("/big") == 2
    assert any("cache tags are refused" in r.getMessage() for r in caplog.records)


def test_exact_path_purges_every_query_and_vary_variant(
    origin: Origin, client: httpx.Client, purge: Any
) -> None:
    origin.answers["/p"] = Answer(headers={**CACHED, "Vary": "Accept-Language"})
    _serve(origin, "/p/deeper")
    targets = ["/p", "/p?a=1", "/p?b=2"]
    _warm(client, *targets, "/p/deeper")
    client.get("/p", headers={"Accept-Language": "fr"})
    assert _state(client, "/p") == "HIT"
    seq = purge(paths=["/p"])
    for target in targets:
        assert _state(client, target) == "MISS"
    assert client.get("/p", headers={"Accept-Language": "fr"}).headers["forge-cache"] == "MISS"
    assert _state(client, "/p/deeper") == "HIT"
    assert seq > 0


@pytest.mark.parametrize(
    ("pattern", "purged", "kept"),
    [
        ("/blog/*", ["/blog/", "/blog/a", "/blog/a/b"], ["/blog", "/blogx", "/shop/a"]),
        ("/blog*", ["/blog", "/blog/a", "/blogx"], ["/shop/a"]),
        ("*.css", ["/a.css", "/blog/x.css"], ["/a.js", "/a.cssx"]),
        ("/blog/*/b", ["/blog/a/b", "/blog//b"], ["/blog/a/c", "/blog/b"]),
    ],
)
def test_wildcard_paths(
    origin: Origin,
    client: httpx.Client,
    purge: Any,
    pattern: str,
    purged: list[str],
    kept: list[str],
) -> None:
    for path in [*purged, *kept]:
        _serve(origin, path)
    _warm(client, *purged, *kept)
    purge(paths=[pattern])
    assert {p: _state(client, p) for p in purged} == dict.fromkeys(purged, "MISS")
    assert {p: _state(client, p) for p in kept} == dict.fromkeys(kept, "HIT")


def test_purge_by_cache_hash(origin: Origin, client: httpx.Client, purge: Any) -> None:
    _serve(origin, "/a")
    _serve(origin, "/b")
    _warm(client, "/a", "/b")
    digest = client.get("/a").headers["forge-cache-hash"]
    purge(cache_hashes=[digest, "not-hex", "0" * 32])
    assert (_state(client, "/a"), _state(client, "/b")) == ("MISS", "HIT")


@pytest.mark.parametrize(("kind", "gone"), [("page", "/page"), ("object", "/object")])
def test_purge_by_type(
    origin: Origin, client: httpx.Client, purge: Any, kind: str, gone: str
) -> None:
    _serve(origin, "/page", "t", html=True)
    _serve(origin, "/object", "t")
    _warm(client, "/page", "/object")
    purge(type=kind, tags=["t"])
    kept = "/object" if gone == "/page" else "/page"
    assert (_state(client, gone), _state(client, kept)) == ("MISS", "HIT")


def test_empty_selector_purges_the_whole_environment_only(
    world: World, origin: Origin, client: httpx.Client, purge: Any, edge: EdgeThread
) -> None:
    other = world.hosted_environment(origin.url)
    edge.call(edge.running.agent.reload_config())  # type: ignore[union-attr]
    _serve(origin, "/a")
    _serve(origin, "/b")
    _warm(client, "/a", "/b")
    with httpx.Client(base_url=edge.url, headers={"Host": other.hostnames[0]}) as elsewhere:
        _warm(elsewhere, "/a")
        purge()
        assert _state(elsewhere, "/a") == "HIT"
    assert (_state(client, "/a"), _state(client, "/b")) == ("MISS", "MISS")


def test_mixed_selectors_purge_anything_matching_any(
    origin: Origin, client: httpx.Client, purge: Any
) -> None:
    for path, tags in [("/a", "x"), ("/b", ""), ("/c", ""), ("/d", "")]:
        _serve(origin, path, tags)
    _warm(client, "/a", "/b", "/c", "/d")
    digest = client.get("/c").headers["forge-cache-hash"]
    purge(tags=["x"], paths=["/b"], cache_hashes=[digest])
    states = {p: _state(client, p) for p in ("/a", "/b", "/c", "/d")}
    assert states == {"/a": "MISS", "/b": "MISS", "/c": "MISS", "/d": "HIT"}


def test_dry_run_counts_and_touches_nothing(
    origin: Origin, client: httpx.Client, purge: Any, database: Database
) -> None:
    _serve(origin, "/a", "x")
    _serve(origin, "/b", "x")
    _warm(client, "/a", "/b")
    seq = purge(dry_run=True, tags=["x"])
    assert (_state(client, "/a"), _state(client, "/b")) == ("HIT", "HIT")
    result = _result(database, seq)
    assert (result.matched, result.evicted, result.marked_stale) == (2, 0, 0)
    assert origin.hits("/a") == 1


def test_soft_purge_serves_stale_while_one_request_revalidates(
    origin: Origin, client: httpx.Client, purge: Any, database: Database, edge: EdgeThread
) -> None:
    release = threading.Event()

    def answer(seen: Seen) -> Answer:
        headers = {**CACHED, "ETag": '"v1"', "Surrogate-Key": "s"}
        if seen.headers.get("if-none-match") == '"v1"':
            release.wait(10)
            return Answer(304, headers, b"")
        return Answer(200, headers, b"version one")

    origin.answers["/s"] = answer
    _warm(client, "/s")
    seq = purge(tags=["s"], mode="soft")
    result = _result(database, seq)
    assert (result.matched, result.evicted, result.marked_stale) == (1, 0, 1)
    labels: list[str] = []
    bodies: list[bytes] = []

    def fetch() -> None:
        with httpx.Client(base_url=edge.url, headers={"Host": client.headers["host"]}) as http:
            response = http.get("/s")
            labels.append(response.headers["forge-cache"])
            bodies.append(response.content)

    threads = [threading.Thread(target=fetch) for _ in range(12)]
    for thread in threads:
        thread.start()
    from tests.edge.conftest import wait_for

    wait_for(lambda: len(labels) == 11, "the stale answers")
    release.set()
    for thread in threads:
        thread.join(10)
    assert sorted(labels) == ["REVALIDATED"] + ["STALE"] * 11
    assert bodies == [b"version one"] * 12
    assert origin.hits("/s") == 2  # the first fill and one revalidation
    assert _state(client, "/s") == "HIT"


def test_purge_of_another_environment_leaves_this_one(
    world: World, origin: Origin, client: httpx.Client, purge: Any
) -> None:
    other: Environment = world.hosted_environment(origin.url)
    _serve(origin, "/a", "x")
    _warm(client, "/a")
    purge(target=other, tags=["x"])
    assert _state(client, "/a") == "HIT"
