"""mf sites … and mf envs …"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from forge_cli import context
from forge_cli.context import EnvArg, Json, Limit, SiteArg
from forge_cli.failures import Usage

sites = context.group("sites")
envs = context.group("envs")

SITE_COLUMNS = ["id", "slug", "name", "mode", "created_at"]
ENV_COLUMNS = ["id", "name", "parent_id", "hostnames", "origin_url"]


@sites.command("list")
def list_sites(as_json: Json = False, limit: Limit = 100) -> None:
    """Every site the key can see, newest first."""
    pager = context.client().sites.list(limit=context.page_size(limit))
    context.show_list(pager, limit, as_json, SITE_COLUMNS, "sites")


@sites.command("get")
def get_site(site: SiteArg, as_json: Json = False) -> None:
    """One site."""
    obj = context.client().sites.get(context.site_id(site))
    context.show_one(obj, as_json, f"site {obj['id']}")


@sites.command("create")
def create_site(
    slug: Annotated[str, typer.Argument(help="Lowercase letters, digits and dashes.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    project: Annotated[str | None, typer.Option(help="Project id (default project).")] = None,
    as_json: Json = False,
) -> None:
    """Create a site in the key's mode."""
    obj = context.client().sites.create(slug, name=name, project=project)
    context.show_one(obj, as_json, f"created site {obj['id']}")


def confirm(what: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise Usage(f"refusing to {what} without --yes (stdin is not a terminal)")
    if not typer.confirm(f"Really {what}?"):
        raise typer.Exit(1)


Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@sites.command("delete")
def delete_site(site: SiteArg, yes: Yes = False, as_json: Json = False) -> None:
    """Delete a site and all its environments."""
    sid = context.site_id(site)
    confirm(f"delete site {site} and all its environments", yes)
    obj = context.client().sites.delete(sid)
    context.show_done(obj, as_json, f"Deleted site {sid}.")


@envs.command("list")
def list_envs(site: SiteArg, as_json: Json = False, limit: Limit = 100) -> None:
    """A site's environments."""
    pager = context.client().environments.list(
        context.site_id(site), limit=context.page_size(limit)
    )
    context.show_list(pager, limit, as_json, ENV_COLUMNS, f"environments of {site}")


@envs.command("get")
def get_env(site: SiteArg, env: EnvArg, as_json: Json = False) -> None:
    """One environment."""
    obj = context.client().environments.get(*context.env_ids(site, env))
    context.show_one(obj, as_json, f"environment {obj['id']}")


Hostnames = Annotated[
    list[str] | None, typer.Option("--hostname", help="A hostname it serves (repeatable).")
]
Origin = Annotated[str | None, typer.Option("--origin", help="Origin URL the edge proxies to.")]
Parent = Annotated[
    str | None, typer.Option("--parent", help="Environment (id or name) it inherits from.")
]


@envs.command("create")
def create_env(
    site: SiteArg,
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits and dashes.")],
    parent: Parent = None,
    hostname: Hostnames = None,
    origin: Origin = None,
    as_json: Json = False,
) -> None:
    """Create an environment."""
    sid = context.site_id(site)
    parent_id = context.env_ids(sid, parent)[1] if parent else None
    obj = context.client().environments.create(
        sid, name, parent=parent_id, hostnames=hostname, origin_url=origin
    )
    context.show_one(obj, as_json, f"created environment {obj['id']}")


@envs.command("update")
def update_env(
    site: SiteArg,
    env: EnvArg,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    parent: Parent = None,
    no_parent: Annotated[bool, typer.Option("--no-parent", help="Stop inheriting.")] = False,
    hostname: Hostnames = None,
    origin: Origin = None,
    as_json: Json = False,
) -> None:
    """Change an environment (only the options given)."""
    from forge_sdk import NOT_GIVEN

    sid, eid = context.env_ids(site, env)
    if parent and no_parent:
        raise Usage("--parent and --no-parent exclude each other")
    parent_value = context.env_ids(sid, parent)[1] if parent else (None if no_parent else NOT_GIVEN)
    obj = context.client().environments.update(
        sid,
        eid,
        name=NOT_GIVEN if name is None else name,
        parent=parent_value,
        hostnames=NOT_GIVEN if hostname is None else hostname,
        origin_url=NOT_GIVEN if origin is None else origin,
    )
    context.show_one(obj, as_json, f"environment {obj['id']}")
