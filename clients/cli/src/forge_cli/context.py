"""The SDK client a command uses, and the lookups commands share (a slug or a name for an id)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any

import typer

from forge_cli import config, output, registry
from forge_cli.failures import Stop

if TYPE_CHECKING:
    from forge_sdk import Forge

Json = Annotated[bool, typer.Option("--json", help="Print exactly the API's data as JSON.")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]
SiteArg = Annotated[str, typer.Argument(help="Site id (site_…) or slug.", show_default=False)]
EnvArg = Annotated[str, typer.Argument(help="Environment id (env_…) or name.", show_default=False)]

_client: Forge | None = None


def _as_group() -> None:
    """A callback makes a group of one command (audit) a group still: `mf audit list`."""


def group(name: str) -> typer.Typer:
    """The command group `name` of mf, with its help from the registry (built only when it is
    invoked, see forge_cli.main)."""
    return typer.Typer(
        name=name,
        help=registry.help_of(name),
        callback=_as_group,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
    )


def client() -> Any:
    """One SDK client per run, with `raw_data=True`: every answer is the API's `data` as sent,
    plain dicts (what `--json` prints). The SDK's annotations describe its models, so the
    client is handed out untyped here."""
    global _client
    if _client is None:
        credentials = config.load()
        if credentials.token is None:
            raise Stop("not logged in: run `mf login`, or set FORGE_TOKEN", 3)
        from forge_sdk import Forge  # (and httpx) only once there is a request to send

        _client = Forge(token=credentials.token, base_url=credentials.api_url, raw_data=True)
    return _client


def site_id(site: str) -> str:
    if site.startswith("site_"):
        return site
    for item in client().sites.list(limit=100):
        if item["slug"] == site:
            return str(item["id"])
    raise Stop(f"no site with slug {site!r} for this key (`mf sites list` shows them)", 4)


def env_ids(site: str, env: str) -> tuple[str, str]:
    sid = site_id(site)
    if env.startswith("env_"):
        return sid, env
    for item in client().environments.list(sid, limit=100):
        if item["name"] == env:
            return sid, str(item["id"])
    raise Stop(f"no environment {env!r} in site {site} (`mf envs list {site}` shows them)", 4)


def show_list(
    items: Iterable[Any], limit: int, as_json: bool, columns: list[str], title: str
) -> None:
    """At most `limit` items, fetched page by page; a note on stderr when there are more."""
    taken = list(islice(items, limit + 1))
    more, taken = len(taken) > limit, taken[:limit]
    if as_json:
        output.emit_json(taken)
        return
    output.table(taken, columns, title)
    if more:
        output.note(f"showing the first {limit}; use --limit to see more")


def show_one(obj: Any, as_json: bool, title: str, fields: list[str] | None = None) -> None:
    if as_json:
        output.emit_json(obj)
    else:
        output.panel(obj, title, fields)


def show_done(obj: Any, as_json: bool, message: str) -> None:
    """The changed object as JSON, or one line saying what was done."""
    if as_json:
        output.emit_json(obj)
    else:
        output.success(message)


def page_size(limit: int) -> int:
    return min(100, limit)
