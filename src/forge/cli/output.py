"""How the operator CLI speaks: JSON for scripts, Rich for people, one line for failures."""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from forge.config import ConfigError, Settings, load_settings
from forge.crypto.keyring import Keyring
from forge.db import Database
from forge.errors import ValidationFailed
from forge.secrets import masterkey

# Values are printed as they are (a name holding `[red]` is data, not markup), and a line is
# never broken to a width: an id in it stays whole, on one line, to be copied.
_PLAIN: dict[str, Any] = {"markup": False, "highlight": False, "emoji": False, "soft_wrap": True}
console = Console(**_PLAIN)


def emit_table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], whole: Collection[str]
) -> None:
    """A table for people. The columns in `whole` (ids, prefixes, times) are never wrapped nor
    cut; on a terminal the others fold to fit its width. Piped or redirected there is no width
    to fit (Rich would assume 80 columns, or $COLUMNS, and wrap ids across lines): the table
    is as wide as its widest row."""
    table = Table()
    for column in columns:
        if column in whole:
            table.add_column(column, no_wrap=True, overflow="ignore")
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    if console.is_terminal:
        console.print(table)
        return
    unbounded = console.options.update(max_width=sys.maxsize)
    natural = console.measure(table, options=unbounded).maximum
    Console(width=natural, **_PLAIN).print(table)  # Console.print caps a width at its own


def emit_json(payload: Any) -> None:
    sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"forge: {message}\n")
    raise typer.Exit(code=2)


Body = TypeVar("Body", bound=BaseModel)
MODES = ("test", "live")


def request_body(schema: type[Body], **options: Any) -> Body:
    """The options validated by the API's own request schema (the same rules as the route),
    options not given left out; the first fault names its option (`--slug: …`)."""
    try:
        return schema.model_validate({k: v for k, v in options.items() if v is not None})
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise ValidationFailed(
            f"--{field.replace('_', '-')}: {first['msg']}", param=field or None
        ) from None


def mode_or_exit(mode: str) -> str:
    if mode not in MODES:
        fail("--mode must be test or live")
    return mode


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as err:
        fail(f"bad configuration: {err}")


def database_or_exit(settings: Settings) -> Database:
    # Every mapped class, so that the relationships and foreign keys of whatever a command
    # touches resolve: a command imports only its own modules (forge/cli/lazy.py).
    import forge.models  # noqa: F401

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        with database.engine.connect():
            pass
    except SQLAlchemyError as err:
        database.dispose()
        reason = str(getattr(err, "orig", err)).strip().splitlines()[0]
        fail(f"bad configuration: FORGE_DATABASE_URL: cannot reach the database ({reason})")
    return database


def operator_database() -> Database:
    return database_or_exit(settings_or_exit())


def operator_keyring() -> tuple[Keyring, Database]:
    """The master keyring (refused with one line when missing or wrong) and its database."""
    settings = settings_or_exit()
    database = database_or_exit(settings)
    try:
        return masterkey.open_keyring(settings, database), database
    except ConfigError as err:
        fail(f"bad configuration: {err}")
