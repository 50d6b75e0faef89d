"""Command groups that build a command only when it runs (their entries: forge.cli.registry).

Building a group's commands imports their modules, and through them the whole application;
a run uses one command. So a group lists its registry entries for `--help`, through Typer's
own listing code given each entry's name and help, and builds the one a run invokes. Importing
this module costs Typer alone.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from forge.cli.registry import Entry


def build(entry: Entry) -> Any:
    """The click command of one entry (this imports its module); its help is the entry's."""
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    command: Any
    if isinstance(target, typer.Typer):
        # A group even with one command (`forge admin deployments env`), as add_typer made it.
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(rich_markup_mode=None, add_completion=False)
        single.command(entry.name, help=entry.help)(target)
        command = typer.main.get_command(single)
    command.help = entry.help
    return command


class LazyCommands(TyperGroup):
    """A group of the entries in `entries`, each built on first use."""

    entries: ClassVar[dict[str, Entry]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.entries)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and name in self.entries:
            self.commands[name] = build(self.entries[name])
        return super().get_command(ctx, name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Typer's own listing, given each entry's name and help instead of its built command
        (which would import every module)."""
        summaries = [TyperCommand(name=e.name, help=e.help) for e in self.entries.values()]
        TyperGroup(commands=summaries, rich_markup_mode=None).format_commands(ctx, formatter)


def group(cls: type[LazyCommands], help: str) -> typer.Typer:
    """A Typer app whose commands are `cls.entries`."""
    app = typer.Typer(
        cls=cls, help=help, no_args_is_help=True, add_completion=False, rich_markup_mode=None
    )
    app.callback()(_as_group)
    return app


def _as_group() -> None:
    """A callback makes the app a group though no command is registered with Typer."""
