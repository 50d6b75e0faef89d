"""`forge admin keys …`: API keys and service tokens, minted and revoked by the operator."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from forge.cli.output import (
    console,
    emit_json,
    emit_table,
    fail,
    mode_or_exit,
    operator_database,
    request_body,
)
from forge.clock import rfc3339, utcnow
from forge.keys import presenters, rolling
from forge.keys import scopes as catalogue
from forge.keys import service as keys
from forge.keys.models import ApiKey, KeySecret
from forge.keys.schemas import KeyRoll

keys_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, add_completion=False
)  # help: forge.cli.registry


@keys_app.command("create")
def keys_create(
    owner: Annotated[str, typer.Option("--owner", help="Client id (personal key) or team id")],
    mode: Annotated[str, typer.Option("--mode", help="test|live")],
    scopes: Annotated[str, typer.Option("--scopes", help="Comma-separated scopes or a preset")],
    name: Annotated[str, typer.Option("--name")] = "operator-minted",
    team: Annotated[
        str | None, typer.Option("--team", help="Team, for a client in several")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Mint a key; its secret is printed once."""
    mode_or_exit(mode)
    requested: list[str] | str = (
        scopes
        if "," not in scopes and ":" not in scopes
        else [s.strip() for s in scopes.split(",") if s.strip()]
    )
    try:
        granted = catalogue.expand(requested)
    except ValueError as err:
        fail(f"--scopes: {err}")
    with operator_database().session() as session:
        minted = keys.mint(
            session,
            owner=keys.owner_for(session, owner, team),
            mode=mode,
            name=name,
            scopes=granted,
            created_by=None,
        )
        out = {
            "id": minted.key.id,
            "name": name,
            "secret": minted.secret,
            "prefix": minted.prefix + "…",
            "mode": mode,
            "scopes": minted.key.scopes,
            "owner": owner,
            "expires_at": rfc3339(minted.key.expires_at),
            "created_at": rfc3339(minted.key.created_at),
        }
    if as_json:
        emit_json(out)
    else:
        console.print(f"key {out['id']} minted; its secret (shown once):")
        console.print(out["secret"])


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key and all its secrets at once."""
    with operator_database().session() as session:
        keys.revoke(session, key_id, actor=None)
    console.print(f"key {key_id} revoked")


def _key_json(key: ApiKey, secrets: list[KeySecret]) -> dict[str, Any]:
    return presenters.key_out(key, secrets, utcnow()).model_dump(mode="json")


@keys_app.command("list")
def keys_list(
    team: Annotated[str, typer.Option("--team", help="Team id")],
    revoked: Annotated[
        bool | None,
        # Not --live: "live" is a mode (`--mode live`); this filter is about revocation.
        typer.Option("--revoked/--active", help="Only revoked keys / only keys not revoked"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List a team's keys (metadata only, both modes, every owner)."""
    with operator_database().session() as session:
        rows = keys.operator_list(session, team, revoked)
        secrets = keys.secrets_of(session, [k.id for k in rows])
        out = [_key_json(k, secrets[k.id]) for k in rows]
    if as_json:
        emit_json(out)
        return
    emit_table(
        ("id", "prefix", "name", "owner", "mode", "expires", "state"),
        (
            (
                k["id"],
                k["prefix"],
                k["name"],
                k["owner"]["type"],
                k["mode"],
                k["expires_at"],
                "revoked" if k["revoked_at"] else "active",
            )
            for k in out
        ),
        whole={"id", "prefix", "owner", "mode", "expires", "state"},
    )


@keys_app.command("show")
def keys_show(key_id: str) -> None:
    """One key's metadata, with each secret's last use (JSON)."""
    with operator_database().session() as session:
        key = keys.get_key(session, key_id)
        out = _key_json(key, keys.secrets_of(session, [key.id])[key.id])
    emit_json(out)


@keys_app.command("roll")
def keys_roll(
    key_id: str,
    grace: Annotated[str, typer.Option("--grace", help="0s to 7d")] = "24h",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Roll a key to a new secret (printed once); the old one lives for --grace."""
    body = request_body(KeyRoll, grace=grace)
    with operator_database().session() as session:
        rolled = rolling.roll_as_operator(session, key_id, body.grace)
        out = {
            "id": rolled.key.id,
            "secret": rolled.secret,
            "prefix": presenters.shown(rolled.prefix),
            "previous_prefix": presenters.shown(rolled.previous_prefix),
            "previous_expires_at": rfc3339(rolled.previous_expires_at),
        }
    if as_json:
        emit_json(out)
    else:
        console.print(
            f"key {key_id} rolled; {out['previous_prefix']} works until "
            f"{out['previous_expires_at']}. The new secret (shown once):"
        )
        console.print(out["secret"])
