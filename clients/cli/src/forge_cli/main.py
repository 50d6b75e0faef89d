"""The `mf` application. Only the group a command belongs to is imported and built: building
every group's commands (signatures, options) is a large part of a CLI's start-up, and a run
uses one. `mf --help` and shell completion list them all."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from forge_cli import failures

# name → (module, attribute) of each command group, in the order help lists them.
GROUPS = {
    "sites": ("forge_cli.commands.sites", "sites"),
    "envs": ("forge_cli.commands.sites", "envs"),
    "keys": ("forge_cli.commands.keys", "keys"),
    "secrets": ("forge_cli.commands.secrets", "secrets"),
    "audit": ("forge_cli.commands.secrets", "audit"),
    "redirects": ("forge_cli.commands.edge", "redirects"),
    "cache": ("forge_cli.commands.edge", "cache"),
    "jobs": ("forge_cli.commands.edge", "jobs"),
}
# Commands of their own: name → (module, function).
COMMANDS = {
    "login": ("forge_cli.commands.auth", "login"),
    "logout": ("forge_cli.commands.auth", "logout"),
    "whoami": ("forge_cli.commands.auth", "whoami"),
    "limits": ("forge_cli.commands.keys", "limits"),
    "deploy": ("forge_cli.commands.secrets", "deploy"),
    "api": ("forge_cli.commands.api", "api"),
}


class LazyGroups(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *GROUPS]

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and (name in GROUPS or name in COMMANDS):
            module, attribute = GROUPS.get(name) or COMMANDS[name]
            target = getattr(importlib.import_module(module), attribute)
            if not isinstance(target, typer.Typer):
                single = typer.Typer(rich_markup_mode=None, add_completion=False)
                single.command(name)(target)
                target = single
            self.commands[name] = typer.main.get_command(target)
        return super().get_command(ctx, name)


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
