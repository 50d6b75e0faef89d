"""`forge admin clients …`: people and their team roles."""

from __future__ import annotations

from typing import Annotated

import typer

from forge.cli.output import console, emit_json, operator_database
from forge.clock import rfc3339
from forge.tenancy import service as tenancy

clients = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, add_completion=False
)  # help: forge.cli.registry


@clients.command("create")
def clients_create(
    team: Annotated[str, typer.Option("--team", help="Team id")],
    email: Annotated[str, typer.Option("--email")],
    role: Annotated[str, typer.Option("--role", help="owner|admin|member|viewer")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a person to a team with a role."""
    with operator_database().session() as session:
        client = tenancy.create_client(session, team, email, role)
        out = {
            "id": client.id,
            "email": client.email,
            "team_id": team,
            "role": role,
            "active": client.active,
            "created_at": rfc3339(client.created_at),
        }
    emit_json(out) if as_json else console.print(
        f"client {out['id']} ({out['email']}) is {role} of {team}"
    )


@clients.command("deactivate")
def clients_deactivate(client_id: str) -> None:
    """Deactivate a person: their personal keys stop on the next request."""
    with operator_database().session() as session:
        tenancy.deactivate_client(session, client_id)
    console.print(f"client {client_id} deactivated; their personal keys no longer work")
