"""`Scoped(scope, resolver)`: how every authenticated route declares its pipeline.

    SiteRead = Annotated[Access, Scoped("sites:read", site_resolver)]

    @router.get("/{site}")
    def get_site(access: SiteRead) -> Envelope[SiteOut]: ...

`ForgeRoute` reads the declaration off the route's signature: it runs the pipeline's stages up
to the route (`forge.http.pipeline.admit`: authenticate, IP allowlist, rate limit, the path's
resources, the scope, idempotency) before FastAPI solves the route's other parameters, and hands
the route its `Access`. The path parameters the resolver reads become the route's own, so
FastAPI passes, validates and documents them like any other. Not a FastAPI dependency: solving
one per request cost ~25 µs, an eighth of an authenticated GET (docs/benchmarks.md); on a route
class other than `ForgeRoute` the declaration fails at start-up (Access is no parameter type).
"""

from __future__ import annotations

from forge.http.access import Access, Bucket, PathResolver, resolves
from forge.http.pipeline import Gate, bucket_for

__all__ = ["Access", "PathResolver", "Scoped", "bucket_for", "resolves"]


def Scoped(
    scope: str | None,
    resolver: PathResolver | None = None,
    *,
    bucket: Bucket | None = None,
    api_key_header: bool = False,
) -> Gate:
    """The gate of a route granting `scope` (None: any valid key) after resolving the path.

    `bucket` names the rate-limit bucket the route spends from; by default GET/HEAD spend
    `read`, POST `create`, other methods `write`. Action POSTs (roll, purge, …) pass "write";
    introspection routes pass "free". `api_key_header` also accepts the key in `x-api-key`
    (only where a documented surface says so)."""
    return Gate(scope, resolver, bucket, api_key_header)
