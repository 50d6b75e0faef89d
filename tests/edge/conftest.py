"""Edge fixtures: a real origin, an environment pointing at it, and an edge on a real socket
(its own event loop in a thread, the way `forge serve` runs one beside the API)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import uvloop

from forge.config import Settings
from forge.db import Database
from forge.edge.runner import RunningEdge, start_edge
from forge.edge.varnish.runner import start_behind_varnish
from forge.notify import LocalHub, Notifier
from forge.sites.models import Environment
from tests.edge.origin import Origin
from tests.edge.tiers import VarnishTier, tier, varnish_tier
from tests.factories import World

T = TypeVar("T")


__all__ = ["tier", "varnish_tier"]


class EdgeThread:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        notifier: Notifier | None,
        varnish: VarnishTier | None = None,
    ) -> None:
        self.settings = settings if varnish is None else varnish.settings(settings)
        self.database = database
        self.notifier = notifier
        self.varnish = varnish
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.running: RunningEdge | None = None

    def start(self) -> EdgeThread:
        self._thread.start()
        if self.varnish is None:
            started = start_edge(self.settings, self.database, "127.0.0.1", 0, self.notifier)
        else:
            started = start_behind_varnish(
                self.settings,
                self.database,
                "127.0.0.1",
                self.varnish.edge_port,
                self.varnish.url,
                self.notifier,
            )
        self.running = self.call(started)
        if self.varnish is not None:
            self.varnish.wait_ready()
        return self

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    @property
    def url(self) -> str:
        """Where clients connect: the edge, or the Varnish in front of it."""
        assert self.running is not None
        return self.running.address if self.varnish is None else self.varnish.url

    def stop(self) -> None:
        if self.running is not None:
            self.call(self.running.stop())
            if self.varnish is not None:
                self.varnish.wait_unready()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin().start()
    yield server
    server.stop()


@pytest.fixture
def edge_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"edge_origin_timeout": 1.0, "edge_connect_timeout": 1.0})


@pytest.fixture
def hub() -> LocalHub:
    return LocalHub()


@pytest.fixture
def edge(
    edge_settings: Settings, database: Database, hub: LocalHub, tier: VarnishTier | None
) -> Iterator[EdgeThread]:
    running = EdgeThread(edge_settings, database, hub, tier).start()
    yield running
    running.stop()


@pytest.fixture
def env(world: World, origin: Origin, edge: EdgeThread) -> Environment:
    """An environment served at its hostname from the origin, known to the running edge."""
    environment = world.hosted_environment(origin.url)
    edge.call(edge.running.agent.reload_config())  # type: ignore[union-attr]
    return environment


@pytest.fixture
def client(edge: EdgeThread, env: Environment) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=edge.url, headers={"Host": env.hostnames[0]}, timeout=10, trust_env=False
    ) as http:
        yield http


def wait_for(condition: Any, what: str, deadline: float = 10.0) -> None:
    """Wait on a condition with a generous deadline (never a bare sleep)."""
    import time

    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def purge(world: World, edge: EdgeThread, hub: LocalHub, env: Environment) -> Any:
    """Append a purge of `env` to the log, wake the edge, and wait until it applied it."""
    from forge.notify import PURGE_APPENDED

    def apply(dry_run: bool = False, target: Environment | None = None, **selector: Any) -> int:
        seq = world.purge(target or env, dry_run=dry_run, **selector)
        hub.publish(PURGE_APPENDED)
        agent = edge.running.agent  # type: ignore[union-attr]
        wait_for(lambda: agent.applied_seq >= seq and not agent._unrecorded, f"purge {seq}")
        return seq

    return apply
