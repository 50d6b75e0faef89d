"""The test call: what the edge would answer for a URL, hop by hop, with the very same engine."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from forge.errors import ValidationFailed
from forge.redirects import service
from forge.redirects.engine import Chain, Match
from forge.redirects.schemas import HopOut, MatchedRule, RedirectTestIn, RedirectTestOut
from forge.sites.service import EnvironmentLike


def _request_target(body: RedirectTestIn) -> tuple[str, str, str | None]:
    """The path (as sent), the query and the host the URL names."""
    if body.url is not None:
        url = urlsplit(body.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValidationFailed("`url` must be an absolute http(s) URL.", param="url")
        return url.path or "/", url.query, url.netloc.rpartition("@")[2]
    assert body.path is not None
    if not body.path.startswith("/"):
        raise ValidationFailed('`path` must start with "/".', param="path")
    path, _, query = body.path.partition("#")[0].partition("?")
    return path, query, None


def _answer(version: int, match: Match | None, chain: Chain) -> RedirectTestOut:
    hops = [HopOut(location=h.location, status=h.status, index=h.index) for h in chain.hops]
    if match is None:
        return RedirectTestOut(
            matched=False,
            rule=None,
            status=None,
            location=None,
            chain=[],
            loop=False,
            version=version,
        )
    rule = match.rule
    return RedirectTestOut(
        matched=True,
        rule=MatchedRule(
            from_=rule.source,
            to=rule.target,
            status=rule.status,
            comment=rule.comment,
            index=match.index,
        ),
        status=match.status,
        location=match.location,
        chain=hops,
        loop=chain.loop,
        version=version,
    )


def run(session: Session, env: EnvironmentLike, body: RedirectTestIn) -> RedirectTestOut:
    """A chain goes on through an absolute target on the URL's host or the environment's."""
    version, compiled = service.compiled_rule_sets(session, [env.id])[env.id]
    path, query, host = _request_target(body)
    chain = compiled.chain(path, query, host, env.hostnames)
    return _answer(version, compiled.match(path, query), chain)
