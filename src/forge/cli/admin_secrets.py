"""`forge admin master-key …` and `forge admin deployments …`: the operator side of secrets.

Secret values leave Forge only here: `deployments env` prints a deployment's resolved values
for the platform's runtime. No API route can do that.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from forge.cli.output import (
    console,
    database_or_exit,
    emit_json,
    fail,
    settings_or_exit,
)
from forge.config import ConfigError
from forge.crypto.envelope import DecryptionFailed
from forge.crypto.keyring import Keyring
from forge.db import Database
from forge.deployments import service as deployments
from forge.secrets import masterkey

master_key_app = typer.Typer(help="The master key that wraps secret values.", no_args_is_help=True)
deployments_app = typer.Typer(help="Deployments (the runtime's view).", no_args_is_help=True)


def _keyring_and_database() -> tuple[Keyring, Database]:
    settings = settings_or_exit()
    database = database_or_exit(settings)
    try:
        return masterkey.open_keyring(settings, database), database
    except ConfigError as err:
        fail(f"bad configuration: {err}")


def _progress(done: int) -> None:
    sys.stderr.write(f"\r{done} data keys re-wrapped")
    sys.stderr.flush()


@master_key_app.command("status")
def status() -> None:
    """Show the keyring: its key ids and which one is current."""
    keyring, _ = _keyring_and_database()
    for key_id in keyring.keys:
        marker = "current" if key_id == keyring.current_id else "old"
        console.print(f"{key_id}  {marker}  created {keyring.created.get(key_id) or '?'}")


@master_key_app.command("rotate")
def rotate(
    batch: Annotated[int, typer.Option("--batch", min=1, max=100_000)] = masterkey.REWRAP_BATCH,
) -> None:
    """Make a fresh master key current and re-wrap every data key under it (online)."""
    keyring, database = _keyring_and_database()
    try:
        result = masterkey.rotate(database, keyring, batch, _progress)
    except ConfigError as err:
        fail(f"bad configuration: {err}")
    except DecryptionFailed as err:
        fail(f"rotation stopped: {err}")
    sys.stderr.write("\n")
    console.print(
        f"master key {result.key_id} is current; {result.rewrapped} data keys re-wrapped. "
        "Old keys can be retired with `forge admin master-key retire KEY_ID`."
    )


@master_key_app.command("rewrap")
def rewrap(
    batch: Annotated[int, typer.Option("--batch", min=1, max=100_000)] = masterkey.REWRAP_BATCH,
) -> None:
    """Re-wrap data keys still under an old master key (resumes an interrupted rotation)."""
    keyring, database = _keyring_and_database()
    try:
        done = masterkey.rewrap_all(database, keyring, batch, _progress)
    except DecryptionFailed as err:
        fail(f"re-wrap stopped: {err}")
    sys.stderr.write("\n")
    console.print(f"{done} data keys re-wrapped under {keyring.current_id}")


@master_key_app.command("retire")
def retire(key_id: str) -> None:
    """Remove an old master key from the keyring once no data key is wrapped by it."""
    keyring, database = _keyring_and_database()
    try:
        masterkey.retire(database, keyring, key_id)
    except ConfigError as err:
        fail(f"bad configuration: {err}")
    console.print(f"master key {key_id} retired")


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
    keyring, database = _keyring_and_database()
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
