"""`forge admin master-key …`: the master key that wraps every secret value's data key.

Rotation is online: a fresh key becomes current and the data keys are re-wrapped under it in
batches while the API keeps serving; `rewrap` resumes a rotation that was interrupted.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from forge.cli.output import console, fail, operator_keyring
from forge.config import ConfigError
from forge.crypto.envelope import DecryptionFailed
from forge.secrets import masterkey

master_key_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None
)  # help: forge.cli.registry


def _progress(done: int) -> None:
    sys.stderr.write(f"\r{done} data keys re-wrapped")
    sys.stderr.flush()


@master_key_app.command("status")
def status() -> None:
    """Show the keyring: its key ids and which one is current."""
    keyring, _ = operator_keyring()
    for key_id in keyring.keys:
        marker = "current" if key_id == keyring.current_id else "old"
        console.print(f"{key_id}  {marker}  created {keyring.created.get(key_id) or '?'}")


@master_key_app.command("rotate")
def rotate(
    batch: Annotated[int, typer.Option("--batch", min=1, max=100_000)] = masterkey.REWRAP_BATCH,
) -> None:
    """Make a fresh master key current and re-wrap every data key under it (online)."""
    keyring, database = operator_keyring()
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
    keyring, database = operator_keyring()
    try:
        done = masterkey.rewrap_all(database, keyring, batch, _progress)
    except DecryptionFailed as err:
        fail(f"re-wrap stopped: {err}")
    sys.stderr.write("\n")
    console.print(f"{done} data keys re-wrapped under {keyring.current_id}")


@master_key_app.command("retire")
def retire(key_id: str) -> None:
    """Remove an old master key from the keyring once no data key is wrapped by it."""
    keyring, database = operator_keyring()
    try:
        masterkey.retire(database, keyring, key_id)
    except ConfigError as err:
        fail(f"bad configuration: {err}")
    console.print(f"master key {key_id} retired")
