"""The edge as a proxy: routing, forwarded headers, failures, conditional requests, Vary,
staleness, coalescing and large bodies, through a real edge socket to a real origin."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from forge.db import Database
from forge.sites.models import Environment
from tests.edge.conftest import EdgeThread, wait_for
from tests.edge.origin import Answer, Origin, Seen
from tests.factories import World

CACHED = {"Cache-Control": "max-age=600"}


def test_unknown_host_is_421_with_a_short_plain_body(edge: EdgeThread, env: Environment) -> None:
    response = httpx.get(f"{edge.url}/", headers={"Host": "nobody.example.test"})
    assert response.status_code == 421
    assert response.headers["content-type"].startswith("text/plain")
    assert "no site at that host" in response.text and len(response.text) < 100


def test_host_with_port_and_any_case_is_routed(
    origin: Origin, edge: EdgeThread, env: Environment
) -> None:
    origin.answers["/"] = Answer(headers=CACHED, body=b"root")
    host = env.hostnames[0].upper() + ":8081"
    assert httpx.get(f"{edge.url}/", headers={"Host": host}).text == "root"


def test_forwarded_headers_and_hop_by_hop(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/f"] = Answer(
        headers=[("Keep-Alive", "timeout=5"), ("Connection", "X-Secret-Hop"), ("X-Secret-Hop", "1")]
    )
    response = client.get(
        "/f",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Host": "evil.example",
            "Connection": "X-Drop-Me",
            "X-Drop-Me": "1",
            "Via": "1.1 somewhere",
            "Proxy-Authorization": "Basic abc",
        },
    )
    assert response.status_code == 200
    seen = origin.seen[-1].headers
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-host"] == client.headers["host"]
    assert seen["x-forwarded-proto"] == "http"
    assert seen["via"] == "1.1 somewhere, 1.1 forge-edge"
    assert "x-drop-me" not in seen and "proxy-authorization" not in seen
    assert "keep-alive" not in response.headers and "x-secret-hop" not in response.headers


def test_other_methods_pass_through_with_their_body(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/form"] = lambda seen: Answer(201, CACHED, b"got " + seen.body)
    response = client.post("/form", content=b"payload")
    assert (response.status_code, response.text) == (201, "got payload")
    assert response.headers["forge-cache"] == "BYPASS"
    assert client.post("/form", content=b"again").text == "got again"


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_origin_is_502_saying_so(
    world: World, edge: EdgeThread, database: Database
) -> None:
    env = world.hosted_environment(f"http://127.0.0.1:{_dead_port()}")
    edge.call(edge.running.agent.reload_config())  # type: ignore[union-attr]
    response = httpx.get(f"{edge.url}/", headers={"Host": env.hostnames[0]}, timeout=10)
    assert response.status_code == 502
    assert "origin is unreachable" in response.text


def test_slow_origin_is_504_saying_so(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/slow"] = Answer(headers=CACHED, delay=2.5)
    response = client.get("/slow")
    assert response.status_code == 504
    assert "did not answer within 1 s" in response.text


def test_conditional_requests_are_answered_304_from_the_cache(
    origin: Origin, client: httpx.Client
) -> None:
    modified = "Tue, 01 Dec 2026 10:00:00 GMT"
    origin.answers["/c"] = Answer(
        headers={**CACHED, "ETag": 'W/"abc"', "Last-Modified": modified}, body=b"content"
    )
    client.get("/c")
    match = client.get("/c", headers={"If-None-Match": '"x", W/"abc"'})
    assert match.status_code == 304 and match.content == b""
    assert match.headers["etag"] == 'W/"abc"' and match.headers["forge-cache"] == "HIT"
    assert client.get("/c", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/c", headers={"If-Modified-Since": modified}).status_code == 304
    earlier = "Mon, 30 Nov 2026 10:00:00 GMT"
    assert client.get("/c", headers={"If-Modified-Since": earlier}).status_code == 200
    assert origin.hits("/c") == 1


def test_a_conditional_miss_fetches_the_full_body_then_answers_304(
    origin: Origin, client: httpx.Client
) -> None:
    origin.answers["/m"] = Answer(headers={**CACHED, "ETag": '"e1"'}, body=b"full")
    response = client.get("/m", headers={"If-None-Match": '"e1"'})
    assert response.status_code == 304
    assert "if-none-match" not in origin.seen[-1].headers
    assert client.get("/m").content == b"full"


def test_vary_keeps_one_entry_per_variant(origin: Origin, client: httpx.Client) -> None:
    def answer(seen: Seen) -> Answer:
        language = seen.headers.get("accept-language", "en")
        return Answer(headers={**CACHED, "Vary": "Accept-Language"}, body=language.encode())

    origin.answers["/v"] = answer
    fr = {"Accept-Language": "fr"}
    assert client.get("/v", headers=fr).text == "fr"
    assert client.get("/v").text == "en"
    second_fr = client.get("/v", headers=fr)
    assert (second_fr.text, second_fr.headers["forge-cache"]) == ("fr", "HIT")
    assert client.get("/v").headers["forge-cache"] == "HIT"
    assert second_fr.headers["forge-cache-hash"] != client.get("/v").headers["forge-cache-hash"]
    assert origin.hits("/v") == 2


def test_default_ttl_caches_responses_without_headers(
    world: World, origin: Origin, edge: EdgeThread
) -> None:
    env = world.hosted_environment(origin.url, default_ttl=60)
    edge.call(edge.running.agent.reload_config())  # type: ignore[union-attr]
    origin.answers["/d"] = Answer(headers={}, body=b"plain")
    origin.answers["/ns"] = Answer(headers={"Cache-Control": "no-store"})
    with httpx.Client(base_url=edge.url, headers={"Host": env.hostnames[0]}) as http:
        assert http.get("/d").headers["forge-cache"] == "MISS"
        assert http.get("/d").headers["forge-cache"] == "HIT"
        http.get("/ns")
        assert http.get("/ns").headers["forge-cache"] == "MISS"


def test_an_object_that_arrives_aged_stays_fresh_for_what_remains_of_its_max_age(
    origin: Origin, client: httpx.Client
) -> None:
    # 30 s of its 600 spent upstream: fresh here for the other 570 (a cache that counted the
    # Age twice would take it for stale at once).
    headers = {"Cache-Control": "max-age=600", "Age": "30"}
    origin.answers["/aged"] = Answer(headers=headers, body=b"aged")
    assert client.get("/aged").headers["forge-cache"] == "MISS"
    again = client.get("/aged")
    assert (again.text, again.headers["forge-cache"]) == ("aged", "HIT")
    assert int(again.headers["age"]) >= 30
    assert origin.hits("/aged") == 1


def test_stale_while_revalidate_serves_stale_and_refreshes_in_the_background(
    origin: Origin, client: httpx.Client
) -> None:
    versions = (b"v%d" % n for n in itertools.count(1))

    def answer(seen: Seen) -> Answer:
        # Already at the end of its max-age when sent: stale at once, within the grace.
        headers = {"Cache-Control": "max-age=10, stale-while-revalidate=600", "Age": "10"}
        return Answer(headers=headers, body=next(versions))

    origin.answers["/swr"] = answer
    assert client.get("/swr").text == "v1"
    stale = client.get("/swr")
    assert (stale.text, stale.headers["forge-cache"]) == ("v1", "STALE")
    # Each stale answer starts a refresh unless one is under way; asking again, rather than
    # waiting on the first one, lets a refresh that failed (a 503 from a loaded edge: the
    # stale copy is kept, as it should be) be retried by the next request.
    wait_for(lambda: client.get("/swr").text != "v1", "the background refresh")
    assert origin.hits("/swr") >= 2


def test_stale_if_error_serves_stale_when_the_origin_fails(
    origin: Origin, client: httpx.Client
) -> None:
    headers = {"Cache-Control": "max-age=10, stale-if-error=600", "Age": "10"}
    origin.answers["/sie"] = Answer(headers=headers, body=b"kept")
    assert client.get("/sie").text == "kept"
    origin.answers["/sie"] = Answer(500, {}, b"broken")
    response = client.get("/sie")
    assert (response.status_code, response.text) == (200, "kept")
    assert response.headers["forge-cache"] == "STALE"


def test_expired_entry_is_revalidated_with_its_etag(origin: Origin, client: httpx.Client) -> None:
    def answer(seen: Seen) -> Answer:
        headers = {"Cache-Control": "max-age=10", "Age": "9", "ETag": '"e"'}
        if seen.headers.get("if-none-match") == '"e"':
            return Answer(304, {"Cache-Control": "max-age=600", "ETag": '"e"'}, b"")
        return Answer(headers=headers, body=b"body")

    origin.answers["/r"] = answer
    client.get("/r")
    wait_for(lambda: client.get("/r").headers["forge-cache"] != "HIT", "expiry", deadline=5)
    # Whichever request saw it expired revalidated it; from then on it is fresh for 600 s.
    assert client.get("/r").headers["forge-cache"] == "HIT"
    assert client.get("/r").content == b"body"
    assert origin.seen[-1].headers.get("if-none-match") == '"e"'


def test_concurrent_misses_make_one_origin_request(
    origin: Origin, edge: EdgeThread, env: Environment
) -> None:
    origin.answers["/co"] = Answer(headers=CACHED, body=b"x" * 5000, delay=0.5)
    results: list[tuple[int, str, int]] = []

    def fetch() -> None:
        response = httpx.get(f"{edge.url}/co", headers={"Host": env.hostnames[0]}, timeout=10)
        results.append(
            (response.status_code, response.headers["forge-cache"], len(response.content))
        )

    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert origin.hits("/co") == 1
    assert sorted(results) == [(200, "HIT", 5000)] * 9 + [(200, "MISS", 5000)]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_bodies_over_max_object_bytes_stream_through_uncached(
    world: World, origin: Origin, edge: EdgeThread, chunked: bool
) -> None:
    env = world.hosted_environment(origin.url, max_object_bytes=10_000)
    edge.call(edge.running.agent.reload_config())  # type: ignore[union-attr]
    body = bytes(range(256)) * 200  # 51,200 bytes
    origin.answers["/big"] = Answer(headers=CACHED, body=body, chunked=chunked)
    origin.answers["/small"] = Answer(headers=CACHED, body=b"s" * 9000, chunked=chunked)
    with httpx.Client(base_url=edge.url, headers={"Host": env.hostnames[0]}) as http:
        for _ in range(2):
            response = http.get("/big")
            assert response.content == body and response.headers["forge-cache"] == "MISS"
        assert origin.hits("/big") == 2
        http.get("/small")
        assert http.get("/small").headers["forge-cache"] == "HIT"


def test_keep_alive_and_pipelined_requests_answer_in_order(
    origin: Origin, edge: EdgeThread, env: Environment
) -> None:
    origin.answers["/1"] = Answer(headers=CACHED, body=b"first", delay=0.2)
    origin.answers["/2"] = Answer(headers=CACHED, body=b"second")
    host = env.hostnames[0].encode()
    port = int(edge.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET /1 HTTP/1.1\r\nHost: %s\r\n\r\nGET /2 HTTP/1.1\r\nHost: %s\r\n"
            b"Connection: close\r\n\r\n" % (host, host)
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.index(b"first") < received.index(b"second")
    assert received.count(b"HTTP/1.1 200 OK") == 2


def test_malformed_request_is_400(edge: EdgeThread) -> None:
    port = int(edge.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")


def test_configuration_changes_reach_an_edge_without_notifications_within_a_second(
    world: World, origin: Origin, database: Database, edge_settings: Any
) -> None:
    lonely = EdgeThread(edge_settings, database, None).start()
    try:
        origin.answers["/"] = Answer(headers=CACHED, body=b"here")
        env = world.hosted_environment(origin.url)
        started = time.monotonic()
        wait_for(
            lambda: (
                httpx.get(f"{lonely.url}/", headers={"Host": env.hostnames[0]}).status_code == 200
            ),
            "the new hostname",
        )
        assert time.monotonic() - started < 1.0
    finally:
        lonely.stop()
