"""`Scoped(scope, resolver)`: the typed dependency every authenticated route declares.

    SiteRead = Annotated[Access, Scoped("sites:read", site_resolver)]

    @router.get("/{site}")
    def get_site(access: SiteRead) -> Envelope[SiteOut]: ...

It runs the pipeline's stages up to the route (`forge.http.pipeline.admit`: authenticate, IP
allowlist, rate limit, the path's resources, the scope, idempotency) and hands the route its
`Access`. The path parameters its resolver reads are declared on the dependency, so FastAPI
passes, validates and documents them like any other parameter.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from forge.http.access import Access, Bucket, PathResolver, resolves
from forge.http.pipeline import Gate, admit, bucket_for

__all__ = ["Access", "PathResolver", "Scoped", "bucket_for", "resolves"]


def Scoped(
    scope: str | None,
    resolver: PathResolver | None = None,
    *,
    bucket: Bucket | None = None,
    api_key_header: bool = False,
) -> Any:
    """A dependency granting `scope` (None: any valid key) after resolving the path.

    `bucket` names the rate-limit bucket the route spends from; by default GET/HEAD spend
    `read`, POST `create`, other methods `write`. Action POSTs (roll, purge, …) pass "write";
    introspection routes pass "free". `api_key_header` also accepts the key in `x-api-key`
    (only where a documented surface says so)."""
    gate = Gate(scope, resolver, bucket, api_key_header)

    async def dependency(request: Request, **params: str) -> Access:
        return await admit(request, gate, params)

    declared = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, Path(description=f"The `{name}` this route acts on.")],
        )
        for name in (resolver.params if resolver is not None else ())
    ]
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [request.replace(annotation=Request), *declared], return_annotation=Access
    )
    # Read by ForgeRoute to document each operation's scope and bucket.
    dependency.forge_gate = gate  # type: ignore[attr-defined]
    return Depends(dependency)
