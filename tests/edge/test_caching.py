"""What the edge stores and for how long, through a real edge socket to a real origin."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from tests.edge.origin import Answer, Origin


def test_miss_then_hit_from_one_origin_request(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/a"] = Answer(headers={"Cache-Control": "max-age=60"}, body=b"A" * 2000)
    first = client.get("/a")
    second = client.get("/a")
    assert first.status_code == 200 and first.content == b"A" * 2000
    assert first.headers["forge-cache"] == "MISS"
    assert second.headers["forge-cache"] == "HIT"
    assert second.content == b"A" * 2000
    assert second.headers["age"] == "0"
    assert len(second.headers["forge-cache-hash"]) == 32
    assert second.headers["forge-cache-hash"] == first.headers["forge-cache-hash"]
    assert "1.1 forge-edge" in second.headers["via"]
    assert origin.hits("/a") == 1


def test_head_is_answered_from_the_cache(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/h"] = Answer(headers={"Cache-Control": "max-age=60"}, body=b"body")
    head = client.head("/h")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == "4"
    assert head.headers["forge-cache"] == "MISS"
    got = client.get("/h")
    assert got.headers["forge-cache"] == "HIT" and got.content == b"body"
    assert [s.method for s in origin.seen] == ["GET"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Cache-Control": "no-store, max-age=60"},
        {"Cache-Control": "private, max-age=60"},
        {"Cache-Control": "no-cache, max-age=60"},
        {"Cache-Control": "max-age=60", "Set-Cookie": "session=1"},
        {"Cache-Control": "max-age=60", "Vary": "*"},
        {"Cache-Control": "max-age=0"},
        {},
    ],
    ids=["no-store", "private", "no-cache", "set-cookie", "vary-star", "max-age-0", "no-headers"],
)
def test_responses_that_are_not_stored(
    origin: Origin, client: httpx.Client, headers: dict[str, str]
) -> None:
    origin.answers["/n"] = Answer(headers=headers)
    for _ in range(2):
        response = client.get("/n")
        assert response.status_code == 200 and response.headers["forge-cache"] == "MISS"
    assert origin.hits("/n") == 2


def test_5xx_is_never_cached(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/e"] = Answer(503, {"Cache-Control": "max-age=60"}, b"down")
    assert client.get("/e").status_code == 503
    assert client.get("/e").headers["forge-cache"] == "MISS"
    assert origin.hits("/e") == 2


def test_s_maxage_wins_over_max_age(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/s"] = Answer(headers={"Cache-Control": "max-age=0, s-maxage=60"})
    client.get("/s")
    assert client.get("/s").headers["forge-cache"] == "HIT"


def test_expires_is_used_without_max_age(origin: Origin, client: httpx.Client) -> None:
    origin.answers["/x"] = Answer(headers={"Expires": formatdate(time.time() + 3600, usegmt=True)})
    client.get("/x")
    assert client.get("/x").headers["forge-cache"] == "HIT"
    origin.answers["/y"] = Answer(headers={"Expires": "not a date"})
    client.get("/y")
    assert client.get("/y").headers["forge-cache"] == "MISS"
