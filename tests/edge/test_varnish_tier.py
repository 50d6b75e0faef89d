"""What Varnish as the cache tier does where it differs from the built-in cache by design, and
what only it has: the VCL's purge guard, labels kept from clients, purges answered with counts."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from forge.edge.varnish.vcl import READY_PATH, SECRET_HEADER, VclError, VclSettings, render
from tests.edge.conftest import EdgeThread, wait_for
from tests.edge.origin import Answer, Origin, Seen
from tests.edge.tiers import SECRET, VarnishTier

CACHED = {"Cache-Control": "max-age=600"}


@pytest.fixture
def tier(varnish_tier: VarnishTier) -> VarnishTier:
    return varnish_tier


def test_the_vcl_is_rendered_with_validated_values_only() -> None:
    text = render(VclSettings("127.0.0.1", 8081, SECRET, agents=("10.0.0.0/8", "::1")))
    assert '.port = "8081";' in text and f'!= "{SECRET}"' in text
    assert '"10.0.0.0"/8;' in text and '"::1";' in text
    assert ".interval = 0.5s;" in text
    assert ".interval = 0.1s;" in render(VclSettings("127.0.0.1", 8081, SECRET, probe_interval=0.1))
    for bad in (
        VclSettings("127.0.0.1", 8081, 'short"; }'),
        VclSettings("edge.example", 8081, SECRET),
        VclSettings("127.0.0.1", 0, SECRET),
        VclSettings("127.0.0.1", 8081, SECRET, agents=('1.2.3.4"; }',)),
        VclSettings("127.0.0.1", 8081, SECRET, probe_interval=0),
    ):
        with pytest.raises(VclError):
            render(bad)


def test_forge_edge_vcl_prints_the_vcl(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from forge.cli.main import app

    env = {"FORGE_DATA_DIR": str(tmp_path), "FORGE_VARNISH_SECRET": SECRET}
    result = CliRunner().invoke(app, ["edge", "vcl", "--edge-port", "9123"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("vcl 4.1;") and '.port = "9123";' in result.output
    missing = CliRunner().invoke(app, ["edge", "vcl"], env={"FORGE_DATA_DIR": str(tmp_path)})
    assert missing.exit_code == 2 and "FORGE_VARNISH_SECRET" in missing.stderr


def test_purges_need_the_secret(tier: VarnishTier, client: httpx.Client) -> None:
    for headers in ({}, {SECRET_HEADER: "x" * 40}, {SECRET_HEADER: SECRET[:-1]}):
        for method in ("PURGE", "SOFTPURGE", "BAN"):
            answer = httpx.request(method, tier.url + "/", headers={"xkey-purge": "a", **headers})
            assert answer.status_code == 403, (method, headers)
    good = httpx.request(
        "PURGE", tier.url + "/", headers={"xkey-purge": "a", SECRET_HEADER: SECRET}
    )
    assert good.status_code == 200 and good.headers["forge-purged"] == "0"


def test_labels_and_tier_headers_never_reach_the_client(
    origin: Origin, client: httpx.Client
) -> None:
    origin.answers["/l"] = Answer(headers={**CACHED, "Surrogate-Key": "a b", "Cache-Tag": "c"})
    for expected in ("MISS", "HIT"):
        response = client.get("/l")
        assert response.headers["forge-cache"] == expected
        leaked = [n for n in response.headers if n.startswith(("forge-edge", "xkey", "x-varnish"))]
        assert leaked == [] and "surrogate-key" not in response.headers
    assert "forge-purge-secret" not in origin.seen[-1].headers


def test_a_soft_purged_object_is_stale_for_all_while_one_background_fetch_revalidates(
    origin: Origin, client: httpx.Client, purge: Any, edge: EdgeThread
) -> None:
    release = threading.Event()

    def answer(seen: Seen) -> Answer:
        headers = {**CACHED, "ETag": '"v1"', "Surrogate-Key": "s"}
        if seen.headers.get("if-none-match") == '"v1"':
            release.wait(10)
            return Answer(304, headers, b"")
        return Answer(200, headers, b"version one")

    origin.answers["/s"] = answer
    assert client.get("/s").headers["forge-cache"] == "MISS"
    purge(tags=["s"], mode="soft")
    labels = [client.get("/s").headers["forge-cache"] for _ in range(12)]
    assert labels == ["STALE"] * 12  # answered at once, the origin still holding its 304
    wait_for(lambda: origin.hits("/s") == 2, "the one background revalidation")
    release.set()
    wait_for(lambda: client.get("/s").headers["forge-cache"] == "HIT", "the refreshed object")
    assert origin.hits("/s") == 2


def test_a_failed_refresh_past_stale_while_revalidate_is_the_origins_answer(
    origin: Origin, client: httpx.Client
) -> None:
    headers = {"Cache-Control": "max-age=10, stale-if-error=600", "Age": "10"}
    origin.answers["/sie"] = Answer(headers=headers, body=b"kept")
    assert client.get("/sie").text == "kept"
    origin.answers["/sie"] = Answer(500, {}, b"broken")
    response = client.get("/sie")
    assert (response.status_code, response.text) == (500, "broken"), response.headers


def test_an_object_past_the_edges_expiry_is_fetched_again_never_restarted_into_a_503(
    varnish_tier: VarnishTier,
) -> None:
    """Varnish's clock may count an object fresh after the edge's own expiry has passed (its
    TTL counted from arrival, later than the edge's clock). A stand-in edge sends exactly that:
    a long TTL and an expiry already past. Varnish must fetch again, not restart until
    max_restarts."""
    fake_edge = Origin(port=varnish_tier.edge_port)
    fake_edge.answers[READY_PATH] = Answer(200, {}, b"ready")
    labels = {
        "Forge-Edge-TTL": "60.000",
        "Forge-Edge-Expires": f"{time.time() - 5:.3f}",
        "Forge-Edge-SWR": "0.000",
        "Forge-Edge-Keep": "0",
        "xkey": "t",
    }
    fake_edge.answers["/skewed"] = Answer(200, labels, b"body")
    fake_edge.start()
    try:
        varnish_tier.wait_ready()
        host = {"Host": "skewed.example.test"}
        first = httpx.get(varnish_tier.url + "/skewed", headers=host, timeout=10)
        second = httpx.get(varnish_tier.url + "/skewed", headers=host, timeout=10)
    finally:
        fake_edge.stop()
        varnish_tier.wait_unready()
    assert (first.status_code, first.text) == (200, "body")
    assert (second.status_code, second.text) == (200, "body")
    assert fake_edge.hits("/skewed") == 2
