"""The `mf` application. Its commands are declared in forge_cli.registry, and only the one a run
invokes is imported and built: building every group's commands (signatures, options) is a large
part of a CLI's start-up, and a run uses one. `mf --help` lists the registry itself, so it imports
no command module at all; shell completion builds what it completes."""

from __future__ import annotations

import importlib
import sys
from difflib import get_close_matches
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from forge_cli import failures, registry


def build(entry: registry.Entry) -> Any:
    """The click command of one registry entry (this imports its module)."""
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(entry.name, help=entry.help)(target)
        target = single
    return typer.main.get_command(target)


class LazyGroups(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return list(registry.ENTRIES)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and name in registry.ENTRIES:
            self.commands[name] = build(registry.ENTRIES[name])
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Typer suggests among the commands built so far, which at the top level is none: the
        suggestion comes from the registry instead."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in registry.ENTRIES:
            close = get_close_matches(name, list(registry.ENTRIES))
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Typer's own listing, given each entry's name and help instead of its built command
        (which would import every module); a command takes its help from the same entry."""
        summaries = [TyperCommand(name=e.name, help=e.help) for e in registry.ENTRIES.values()]
        TyperGroup(commands=summaries, rich_markup_mode=None).format_commands(ctx, formatter)


app = typer.Typer(
    name="mf",
    cls=LazyGroups,
    help="The Forge command line: sites, environments, keys, secrets, redirects, cache, jobs.\n\n"
    "Authenticate with FORGE_TOKEN (and FORGE_API_URL) or `mf login`. Every command takes "
    "--json. Exit codes: 0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, "
    "5 conflict or precondition, 6 rate limited, 7 network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Commands are loaded by LazyGroups; this callback makes `mf` a group."""


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # every failure becomes one line and an exit code
        sys.exit(failures.report(exc))
