"""The clear-cache surface: POST /api/v1/clear-cache, for deploy scripts written against it.

The key comes in `x-api-key` (or `Authorization: Bearer`); the environment is named by the
team's slug, the site's slug and the environment's name, looked up only inside the key's own
team and mode, so a key never learns that names elsewhere exist. At most one of `paths`,
`surrogateKeys` (tags) and `cacheHashes`; none purges everything. It queues the same
`cache.purge` job as /v1.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from forge.cache import service
from forge.cache.routes import ACCEPTED, accepted
from forge.cache.schemas import ClearCacheRequest
from forge.errors import InvalidRequest
from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope
from forge.http.routing import ForgeRoute
from forge.jobs.access import AppNotifier
from forge.jobs.schemas import JobOut
from forge.sites import service as sites

router = APIRouter(prefix="/api/v1", tags=["cache"], route_class=ForgeRoute)

ClearCache = Annotated[Access, Scoped("cache:write", bucket="write", api_key_header=True)]


def _one_selector(body: ClearCacheRequest) -> None:
    given = [
        name
        for name in ("paths", "surrogateKeys", "cacheHashes")
        if getattr(body, name) is not None
    ]
    if len(given) > 1:
        raise InvalidRequest(
            f"Pass at most one of paths, surrogateKeys and cacheHashes; this request has "
            f"{' and '.join(given)}.",
            param=given[1],
        )


@router.post(
    "/clear-cache",
    status_code=202,
    responses=ACCEPTED,
    summary="Clear the cache of an environment named by team, site and environment",
)
def clear_cache(
    access: ClearCache, notifier: AppNotifier, response: Response, body: ClearCacheRequest
) -> Envelope[JobOut]:
    _one_selector(body)
    env = sites.environment_by_names(
        access.reads,
        access.principal,
        (body.team, body.site, body.environment),
        ("team", "site", "environment"),
    )
    chosen = service.selector(
        "all", tags=body.surrogateKeys, paths=body.paths, cache_hashes=body.cacheHashes
    )
    job = service.request_purge(access.session, notifier, access.principal, env, chosen)
    return accepted(response, job)
