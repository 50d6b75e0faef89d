"""An environment's edge cache: its configuration and state, and purges (queued as jobs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from forge_sdk._endpoints import Call, M, Resource, one, queued
from forge_sdk.resources._common import ENV, NOT_GIVEN, fields, present

if TYPE_CHECKING:
    from forge_sdk.models import CacheOverview, Job

CACHE = ENV + "/cache"


def _listed(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


class Cache(Resource[M]):
    @one("GET", CACHE, "CacheOverview")
    def get(self, site: str, env: str) -> Call[CacheOverview]:
        """Configuration and current state across live edges (entries, hit ratio, top tags)."""
        return Call(path={"site": site, "env": env})

    @one("PATCH", CACHE, "CacheOverview")
    def update(
        self,
        site: str,
        env: str,
        *,
        default_ttl: Any = NOT_GIVEN,
        max_object_bytes: Any = NOT_GIVEN,
    ) -> Call[CacheOverview]:
        body = fields(default_ttl=default_ttl, max_object_bytes=max_object_bytes)
        return Call(path={"site": site, "env": env}, body=body)

    @queued("POST", CACHE + "/purge")
    def purge(
        self,
        site: str,
        env: str,
        *,
        type: str | None = None,
        tags: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
        cache_hashes: Sequence[str] | None = None,
        soft: bool = False,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> Call[Job]:
        """Queue a purge; `.wait(timeout=…)` on the answer blocks until every edge applied it.

        Selectors combine (an entry matching any is purged, within `type`); none purges
        everything. `soft` marks entries stale instead of evicting; `dry_run` only reports.
        """
        body = present(
            type=type,
            tags=_listed(tags),
            paths=_listed(paths),
            cache_hashes=_listed(cache_hashes),
            mode="soft" if soft else None,
            dry_run=True if dry_run else None,
        )
        return Call(path={"site": site, "env": env}, body=body, idempotency_key=idempotency_key)
