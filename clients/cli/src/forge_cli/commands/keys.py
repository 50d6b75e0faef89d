"""mf keys … and mf limits."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from forge_cli import context, output
from forge_cli.commands.sites import Yes, confirm
from forge_cli.context import Json, Limit
from forge_cli.failures import Usage

keys = context.group("keys")

KEY_COLUMNS = ["id", "name", "prefix", "mode", "scopes", "resource", "expires_at", "revoked_at"]
KeyId = Annotated[str, typer.Argument(help="Key id (key_…).", show_default=False)]
Scopes = Annotated[
    str | None,
    typer.Option(help="Comma-separated scopes, or a preset: read-only, deploy, full-access."),
]
Pin = Annotated[
    str | None,
    typer.Option("--pin", help="Constrain to one resource: an id (team_…, proj_…, site_…, env_…)."),
]
ExpiresIn = Annotated[str | None, typer.Option(help="Lifetime, e.g. 90d (at most 1y).")]
Allow = Annotated[
    list[str] | None, typer.Option("--allow-ip", help="A CIDR the key works from (repeatable).")
]

_PIN_TYPES = {"team": "team", "proj": "project", "site": "site", "env": "env"}


def _scopes(text: str) -> list[str] | str:
    items = [item.strip() for item in text.split(",") if item.strip()]
    return items[0] if len(items) == 1 and ":" not in items[0] else items


def _pin(value: str) -> dict[str, str]:
    kind = _PIN_TYPES.get(value.split("_", 1)[0])
    if kind is None:
        raise Usage(f"--pin takes a team_, proj_, site_ or env_ id, not {value!r}")
    return {kind: value}


def _reveal(obj: dict[str, Any], as_json: bool, title: str) -> None:
    """The secret once, on a line of its own, after a warning on stderr; `--json` keeps it in
    the object."""
    if as_json:
        output.emit_json(obj)
        return
    shown = {k: v for k, v in obj.items() if k != "secret"}
    output.panel(shown, title)
    if obj.get("secret"):
        output.note("The secret below is shown once and never again: store it now.")
        sys.stdout.write(obj["secret"] + "\n")
    else:
        output.note("No secret in this answer (a replay never reveals it again): roll the key.")


@keys.command("list")
def list_keys(
    owner: Annotated[str | None, typer.Option(help="client (personal) or team (service).")] = None,
    mode: Annotated[str | None, typer.Option(help="live or test.")] = None,
    revoked: Annotated[bool | None, typer.Option("--revoked/--active", help="Filter.")] = None,
    as_json: Json = False,
    limit: Limit = 100,
) -> None:
    """The keys you can see (metadata only, never a secret)."""
    pager = context.client().keys.list(
        owner=owner, mode=mode, revoked=revoked, limit=context.page_size(limit)
    )
    context.show_list(pager, limit, as_json, KEY_COLUMNS, "API keys")


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    scopes: Scopes = None,
    pin: Pin = None,
    expires_in: ExpiresIn = None,
    allow_ip: Allow = None,
    service: Annotated[
        bool, typer.Option("--service", help="A service token of the team (owners only).")
    ] = False,
    as_json: Json = False,
) -> None:
    """Mint a key; its secret is printed once."""
    if not scopes:
        raise Usage("--scopes is required (a list such as sites:read,cache:write, or a preset)")
    obj = context.client().keys.create(
        name,
        _scopes(scopes),
        resource=_pin(pin) if pin else None,
        expires_in=expires_in,
        ip_allowlist=allow_ip,
        owner="team" if service else None,
    )
    _reveal(obj, as_json, f"created key {obj['id']}")


@keys.command("get")
def get_key(key: KeyId, as_json: Json = False) -> None:
    """One key's metadata and each secret's last use."""
    obj = context.client().keys.get(key)
    if as_json:
        output.emit_json(obj)
        return
    output.panel({k: v for k, v in obj.items() if k != "secrets"}, f"key {obj['id']}")
    output.table(
        obj["secrets"],
        ["prefix", "status", "expires_at", "last_used_at", "last_used_ip"],
        "secrets",
    )


@keys.command("update")
def update_key(
    key: KeyId,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    scopes: Scopes = None,
    pin: Pin = None,
    unpin: Annotated[bool, typer.Option("--unpin", help="Remove the pin.")] = False,
    expires_in: ExpiresIn = None,
    allow_ip: Allow = None,
    clear_ips: Annotated[bool, typer.Option("--clear-ips", help="Remove the allowlist.")] = False,
    as_json: Json = False,
) -> None:
    """Change a key (only the options given)."""
    from forge_sdk import NOT_GIVEN

    if (pin and unpin) or (allow_ip and clear_ips):
        raise Usage("--pin/--unpin and --allow-ip/--clear-ips exclude each other")
    resource: Any = _pin(pin) if pin else (None if unpin else NOT_GIVEN)
    allowlist: Any = allow_ip if allow_ip else ([] if clear_ips else NOT_GIVEN)
    obj = context.client().keys.update(
        key,
        name=NOT_GIVEN if name is None else name,
        scopes=NOT_GIVEN if scopes is None else _scopes(scopes),
        resource=resource,
        expires_in=NOT_GIVEN if expires_in is None else expires_in,
        ip_allowlist=allowlist,
    )
    context.show_one(
        {k: v for k, v in obj.items() if as_json or k != "secrets"}, as_json, f"key {obj['id']}"
    )


@keys.command("roll")
def roll_key(
    key: KeyId,
    grace: Annotated[
        str | None, typer.Option(help="How long the old secret keeps working (0s–7d).")
    ] = None,
    as_json: Json = False,
) -> None:
    """A new secret (printed once); the old one lives for the grace window."""
    obj = context.client().keys.roll(key, grace=grace)
    _reveal(obj, as_json, f"rolled key {obj['id']}")


@keys.command("revoke")
def revoke_key(key: KeyId, yes: Yes = False, as_json: Json = False) -> None:
    """Revoke a key and every secret of it, at once."""
    confirm(f"revoke key {key}", yes)
    obj = context.client().keys.revoke(key)
    context.show_done(
        obj, as_json, f"Revoked {obj['id']} ({obj['prefix']}) at {obj['revoked_at']}."
    )


@keys.command("self")
def self_key(as_json: Json = False) -> None:
    """The calling key (same as `mf whoami`)."""
    from forge_cli.commands.auth import whoami

    whoami(as_json)


# `mf limits`; its help text is its entry in forge_cli.registry.
def limits(as_json: Json = False) -> None:
    obj = context.client().rate_limits.get()
    if as_json:
        output.emit_json(obj)
    else:
        output.table(obj["buckets"], ["kind", "limit", "remaining", "reset"], "rate limits")
