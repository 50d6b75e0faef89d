"""`forge admin deployments …`: the runtime's view of a deployment.

Secret values leave Forge only here: `deployments env` prints a deployment's resolved values
for the platform's runtime. No API route can do that.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from forge.cli.output import emit_json, fail, operator_keyring
from forge.crypto.envelope import DecryptionFailed
from forge.deployments import service as deployments

deployments_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None
)  # help: forge.cli.registry


class EnvFormat(StrEnum):
    dotenv = "dotenv"
    json = "json"


def _dotenv_line(name: str, value: str) -> str:
    # JSON string escaping is valid double-quoted dotenv (\n, \", \\, \t, \uXXXX).
    return f"{name}={json.dumps(value, ensure_ascii=False)}"


@deployments_app.command("env")
def deployment_env(
    deployment_id: str,
    output: Annotated[EnvFormat, typer.Option("--format")] = EnvFormat.dotenv,
) -> None:
    """Print the resolved secret values a deployment runs with (for the runtime)."""
    keyring, database = operator_keyring()
    try:
        with database.session() as session:
            resolved = deployments.resolved_values(session, keyring, deployment_id)
    except DecryptionFailed as err:
        fail(f"refusing to print anything: {err}")
    if output is EnvFormat.json:
        emit_json(resolved.values)
        return
    for name, value in resolved.values.items():
        sys.stdout.write(_dotenv_line(name, value) + "\n")
