"""mf secrets … (values are read from stdin, a hidden prompt or a file; never printed),
mf deploy and mf audit."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from forge_cli import context, output
from forge_cli.context import EnvArg, Json, Limit, SiteArg
from forge_cli.failures import Usage

secrets = context.group("secrets")
audit = context.group("audit")

SECRET_COLUMNS = [
    "key",
    "has_value",
    "version",
    "required",
    "tombstone",
    "deployed",
    "source",
    "updated_at",
]
Key = Annotated[str, typer.Argument(help="The secret's name (A_Z0_9).", show_default=False)]


def _source(item: dict[str, object]) -> dict[str, object]:
    source = item.get("source")
    if isinstance(source, dict):
        where = str(source.get("environment_name"))
        return {**item, "source": f"{where} (inherited)" if source.get("inherited") else where}
    return item


@secrets.command("list")
def list_secrets(site: SiteArg, env: EnvArg, as_json: Json = False, limit: Limit = 1000) -> None:
    """The environment's effective secrets, inherited ones included (never values)."""
    sid, eid = context.env_ids(site, env)
    pager = context.client().secrets.list(sid, eid, limit=context.page_size(limit))
    if as_json:
        context.show_list(pager, limit, True, [], "")
    else:
        context.show_list(map(_source, pager), limit, False, SECRET_COLUMNS, f"secrets of {env}")


def _value(from_file: Path | None, value: str | None) -> str:
    if from_file is not None and value is not None:
        raise Usage("--from-file and --value exclude each other")
    if value is not None:
        return value
    if from_file is not None:
        return from_file.read_text()
    if sys.stdin.isatty():
        return getpass.getpass("Value (input hidden): ")
    text = sys.stdin.read()
    if not text:
        raise Usage("no value on stdin (an empty value needs --value '')")
    return text[:-1] if text.endswith("\n") else text


@secrets.command("set")
def set_secret(
    site: SiteArg,
    env: EnvArg,
    key: Key,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file", help="Read the value from this file.", exists=True, dir_okay=False
        ),
    ] = None,
    value: Annotated[
        str | None,
        typer.Option("--value", help="The value itself (lands in shell history: prefer stdin)."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    as_json: Json = False,
) -> None:
    """Set a secret's value, read from stdin or a hidden prompt (or --from-file)."""
    sid, eid = context.env_ids(site, env)
    obj = context.client().secrets.set(
        sid, eid, key, _value(from_file, value), description=description
    )
    context.show_done(
        obj, as_json, f"Set {obj['key']} on {obj['env_id']}; applies on the next deploy."
    )


@secrets.command("unset")
def unset_secret(site: SiteArg, env: EnvArg, key: Key, as_json: Json = False) -> None:
    """Stop a key inherited from a parent environment here (a tombstone)."""
    sid, eid = context.env_ids(site, env)
    obj = context.client().secrets.tombstone(sid, eid, key)
    context.show_done(
        obj, as_json, f"{key} is unset in {env}: the inherited value no longer flows in."
    )


@secrets.command("delete")
def delete_secret(site: SiteArg, env: EnvArg, key: Key, as_json: Json = False) -> None:
    """Delete a secret (or a tombstone) from this environment."""
    sid, eid = context.env_ids(site, env)
    obj = context.client().secrets.delete(sid, eid, key)
    context.show_done(obj, as_json, f"Deleted {key} from {env}.")


@secrets.command("import")
def import_secrets(
    site: SiteArg,
    env: EnvArg,
    file: Annotated[Path, typer.Argument(help="A dotenv file (`-` for stdin).", allow_dash=True)],
    overwrite: Annotated[bool, typer.Option(help="Replace keys that have a value.")] = False,
    as_json: Json = False,
) -> None:
    """Import a dotenv file, all or nothing."""
    sid, eid = context.env_ids(site, env)
    document = sys.stdin.read() if str(file) == "-" else file.read_text()
    obj = context.client().secrets.import_dotenv(sid, eid, document, overwrite=overwrite)
    if as_json:
        output.emit_json(obj)
    else:
        output.panel(obj, f"imported into {env}")


@secrets.command("compare")
def compare_secrets(
    site: SiteArg,
    env: EnvArg,
    other: Annotated[str, typer.Argument(help="The other environment (id or name).")],
    as_json: Json = False,
) -> None:
    """Which keys differ from another environment, without revealing values."""
    sid, eid = context.env_ids(site, env)
    obj = context.client().secrets.compare(sid, eid, context.env_ids(sid, other)[1])
    if as_json:
        output.emit_json(obj)
    else:
        output.table(obj["keys"], ["key", "status"], f"{env} compared with {other}")


@secrets.command("restore")
def restore_secret(
    site: SiteArg,
    env: EnvArg,
    key: Key,
    version: Annotated[int, typer.Argument(min=1, help="The version to make current.")],
    as_json: Json = False,
) -> None:
    """Make an old version's value current again (as a new version)."""
    sid, eid = context.env_ids(site, env)
    obj = context.client().secrets.restore(sid, eid, key, version)
    context.show_done(
        obj, as_json, f"{key} is now version {obj['version']} (restored from {version})."
    )


# `mf deploy`; its help text is its entry in forge_cli.registry.
def deploy(site: SiteArg, env: EnvArg, as_json: Json = False) -> None:
    sid, eid = context.env_ids(site, env)
    obj = context.client().deployments.create(sid, eid)
    if as_json:
        output.emit_json(obj)
        return
    output.panel({k: v for k, v in obj.items() if k != "secrets"}, f"deployment {obj['id']}")
    output.table(obj["secrets"], ["key", "version", "source_environment_id"], "secrets it runs")


@audit.command("list")
def list_audit(
    key_prefix: Annotated[str | None, typer.Option(help="Only this key's events.")] = None,
    since: Annotated[str | None, typer.Option(help="RFC 3339 time with a zone.")] = None,
    until: Annotated[str | None, typer.Option(help="RFC 3339 time with a zone.")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. key.rolled.")] = None,
    resource: Annotated[str | None, typer.Option(help="The id an event is about.")] = None,
    as_json: Json = False,
    limit: Limit = 50,
) -> None:
    """Audit events, newest first."""
    pager = context.client().audit_events.list(
        key_prefix=key_prefix,
        since=since,
        until=until,
        action=action,
        resource=resource,
        limit=context.page_size(limit),
    )
    columns = ["created_at", "action", "actor_type", "key_prefix", "resource_id"]
    context.show_list(pager, limit, as_json, columns, "audit events")
