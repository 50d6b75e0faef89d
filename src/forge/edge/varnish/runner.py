"""Starting an edge with Varnish as its cache tier (`forge edge --cache varnish`)."""

from __future__ import annotations

from forge.config import Settings
from forge.db import Database
from forge.edge.runner import RunningEdge, edge_lease, origin_pool, start_edge
from forge.edge.varnish.client import VarnishClient
from forge.edge.varnish.tier import LabellingStore, VarnishEdge
from forge.notify import Notifier


class VarnishNotConfigured(ValueError):
    """What is missing to run an edge behind Varnish."""


def build(settings: Settings, varnish_url: str) -> VarnishEdge:
    if not settings.varnish_secret:
        raise VarnishNotConfigured(
            "FORGE_VARNISH_SECRET is not set: the edge's agent needs the secret that the VCL "
            "(`forge edge vcl`) accepts purges with"
        )
    if not varnish_url.startswith(("http://", "https://")):
        raise VarnishNotConfigured(f"--varnish must be an http:// URL, got {varnish_url!r}")
    return VarnishEdge(
        LabellingStore(settings.edge_cache_bytes),
        origin_pool(settings),
        edge_lease(settings),
        VarnishClient(varnish_url, settings.varnish_secret),
    )


async def start_behind_varnish(
    settings: Settings,
    database: Database,
    host: str,
    port: int,
    varnish_url: str,
    notifier: Notifier | None = None,
) -> RunningEdge:
    """Empty the Varnish of what an earlier edge left (a new edge counts as empty, having
    missed no purge), then start the edge."""
    edge = build(settings, varnish_url)
    try:
        await edge.forget_everything()
    except BaseException:
        await edge.aclose()
        raise
    return await start_edge(settings, database, host, port, notifier, edge)
