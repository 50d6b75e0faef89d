"""An environment's redirect rules: read, replace whole (guarded by `If-Match`), test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from forge_sdk._endpoints import Call, M, Resource, one, paged
from forge_sdk.resources._common import ENV, present

if TYPE_CHECKING:
    from forge_sdk.models import RedirectSet, RedirectTest, RedirectVersion, WrittenRedirectSet

REDIRECTS = ENV + "/redirects"


class Redirects(Resource[M]):
    @one("GET", REDIRECTS, "RedirectSet")
    def get(self, site: str, env: str) -> Call[RedirectSet]:
        """The rule set in order, its `version`, and (`.etag`) the tag to send back on replace."""
        return Call(path={"site": site, "env": env})

    @one("PUT", REDIRECTS, "WrittenRedirectSet")
    def replace(
        self,
        site: str,
        env: str,
        rules: Sequence[Mapping[str, Any]],
        *,
        if_match: str | None = None,
    ) -> Call[WrittenRedirectSet]:
        """Replace the whole set. With `if_match` (the `.etag` you read), a set changed since
        is refused with `PreconditionFailedError` and nothing is written."""
        headers = {"If-Match": if_match} if if_match is not None else None
        body = {"rules": [dict(rule) for rule in rules]}
        return Call(path={"site": site, "env": env}, body=body, headers=headers)

    @paged(REDIRECTS + "/versions", "RedirectVersion", cursor="version")
    def versions(self, site: str, env: str, *, limit: int | None = None) -> Call[RedirectVersion]:
        """Every replacement, newest first."""
        return Call(path={"site": site, "env": env}, params={"limit": limit})

    @one("POST", REDIRECTS + "/versions/{version}/restore", "WrittenRedirectSet")
    def restore(
        self,
        site: str,
        env: str,
        version: int,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> Call[WrittenRedirectSet]:
        """A new version equal to `version` (guarded by `if_match` like `replace`)."""
        return Call(
            path={"site": site, "env": env, "version": version},
            headers={"If-Match": if_match} if if_match is not None else None,
            idempotency_key=idempotency_key,
        )

    @one("POST", REDIRECTS + "/test", "RedirectTest")
    def test(
        self, site: str, env: str, *, url: str | None = None, path: str | None = None
    ) -> Call[RedirectTest]:
        """What the edge would answer for `url` (or `path`): the rule, location and chain."""
        return Call(path={"site": site, "env": env}, body=present(url=url, path=path))
