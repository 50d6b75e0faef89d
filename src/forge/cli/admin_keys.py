"""`forge admin keys …`: API keys and service tokens, minted and revoked by the operator."""

from __future__ import annotations

from typing import Annotated

import typer

from forge.cli.output import console, domain_errors_to_exit, emit_json, fail, operator_database
from forge.clock import rfc3339
from forge.errors import ForgeError
from forge.keys import scopes as catalogue
from forge.keys import service as keys

keys_app = typer.Typer(help="API keys and service tokens.", no_args_is_help=True)


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
    if mode not in ("test", "live"):
        fail("--mode must be test or live")
    requested: list[str] | str = (
        scopes
        if "," not in scopes and ":" not in scopes
        else [s.strip() for s in scopes.split(",") if s.strip()]
    )
    try:
        granted = catalogue.expand(requested)
    except ValueError as err:
        fail(f"--scopes: {err}")
    try:
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
    except ForgeError as err:
        domain_errors_to_exit(err)
    if as_json:
        emit_json(out)
    else:
        console.print(f"key {out['id']} minted; its secret (shown once):")
        console.print(out["secret"], markup=False, highlight=False)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key and all its secrets at once."""
    try:
        with operator_database().session() as session:
            keys.revoke(session, key_id, actor=None)
    except ForgeError as err:
        domain_errors_to_exit(err)
    console.print(f"key {key_id} revoked")
