"""`forge init` and `forge migrate`: the database's schema and the first team, owner and key."""

from __future__ import annotations

from typing import Annotated

import typer

from forge import migrate as migrations
from forge.cli.bootstrap import bootstrap
from forge.cli.output import console, database_or_exit, emit_json, fail, settings_or_exit
from forge.config import ConfigError, Settings
from forge.db import Database
from forge.secrets import masterkey


def _keyring_or_exit(settings: Settings, database: Database) -> None:
    """Generates the embedded master key on first start; refuses a missing or wrong one."""
    try:
        masterkey.open_keyring(settings, database)
    except ConfigError as err:
        fail(f"bad configuration: {err}")


# `forge migrate` and `forge init`: their help texts are their entries in forge.cli.registry.
def migrate() -> None:
    database = database_or_exit(settings_or_exit())
    migrations.upgrade(database)
    console.print("database is at the newest revision")


def init(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    settings = settings_or_exit()
    database = database_or_exit(settings)
    migrations.upgrade(database)
    _keyring_or_exit(settings, database)
    with database.session() as session:
        result = bootstrap(session)
        payload = result.as_json()
    if as_json:
        emit_json(payload)
        return
    console.print(f"team {result.team.slug} ({result.team.id}), owner {result.client.email}")
    console.print(
        f"site {result.site.slug} ({result.site.id}, test mode): "
        + ", ".join(f"{e.name} {e.id}" for e in result.environments)
    )
    if result.secret:
        console.print("first API key (shown once — store it now):")
        console.print(result.secret)
    else:
        console.print(
            f"first key {result.key.id} ({result.prefix}…) was shown when it was "
            "minted; mint another with `forge admin keys create`"
        )
