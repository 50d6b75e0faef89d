"""The cache tiers every edge behaviour test runs against: the built-in cache, and Varnish in
front of the edge (one private varnishd per test worker, its backend a fixed port that each
test's edge binds). Varnish is installed by the fixture where it is missing (apt-get); where
it cannot be, the Varnish half is skipped with apt's reason."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from forge.config import Settings
from forge.edge.varnish.vcl import READY_HOST, READY_PATH, VclSettings, render
from tests.ports import free_port
from tools.system_packages import Unavailable, ensure_varnish

TIERS = ("builtin", "varnish")
# Where Varnish behaves otherwise by design (docs/edge.md, "Running Varnish"): these run on the
# built-in cache only; tests/edge/test_varnish_tier.py asserts what Varnish does instead.
BUILTIN_ONLY = {
    "test_stale_if_error_serves_stale_when_the_origin_fails": (
        "Varnish 7.1 cannot answer from a stale copy once a synchronous refresh failed"
    ),
    "test_soft_purge_serves_stale_while_one_request_revalidates": (
        "Varnish revalidates a soft-purged object in the background: every request is STALE"
    ),
}
SECRET = "test-varnish-secret-0123456789abcdef"


class VarnishTier:
    """A Varnish whose backend is whatever edge listens on `edge_port`.

    Each test starts its own edge on that port, so Varnish's readiness probe must be seen to
    fail once the previous edge stopped (`wait_unready`) before it is trusted for the next:
    otherwise its window still counts the old edge healthy, and a connection the probe had
    refused in between puts the address in Varnish's hold-down, failing the first fetch
    ("503 Backend fetch failed"). A fast probe keeps that wait short."""

    def __init__(self) -> None:
        from tools.varnish_process import Varnish

        self.edge_port = free_port()
        vcl = render(
            VclSettings("127.0.0.1", self.edge_port, SECRET, origin_timeout=1.0, probe_interval=0.1)
        )
        self.varnish = Varnish(vcl, storage_bytes=64 * 1024 * 1024).start()

    @property
    def url(self) -> str:
        return self.varnish.url

    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"varnish_secret": SECRET})

    def wait_ready(self) -> None:
        """Until Varnish's probe counts the new edge as ready."""
        self._wait_for_readiness(200, "Varnish never counted the edge as ready")

    def wait_unready(self) -> None:
        """Until Varnish's probe counts the stopped edge as gone."""
        self._wait_for_readiness(503, "Varnish still counts a stopped edge as ready")

    def _wait_for_readiness(self, status: int, failure: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = httpx.get(self.url + READY_PATH, headers={"Host": READY_HOST}, timeout=2)
            if answer.status_code == status:
                return
            time.sleep(0.02)
        raise AssertionError(failure)

    def stop(self) -> None:
        self.varnish.stop()


@pytest.fixture(scope="session")
def varnish_tier() -> Iterator[VarnishTier]:
    try:
        ensure_varnish()
    except Unavailable as err:
        pytest.skip(f"VARNISH TESTS SKIPPED: Varnish with xkey cannot be installed here: {err}")
    tier = VarnishTier()
    yield tier
    tier.stop()


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest) -> VarnishTier | None:
    if request.param == "builtin":
        return None
    reason = BUILTIN_ONLY.get(request.node.originalname)
    if reason is not None:
        pytest.skip(f"built-in cache only: {reason}")
    found: VarnishTier = request.getfixturevalue("varnish_tier")
    return found
