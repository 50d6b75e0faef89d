"""`forge --help` and `forge admin --help` list forge.cli.registry without building a command:
the listing is exactly Typer's for the commands built for real, every command group is in the
registry, and the help imports none of the application."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from typing import Any

import pytest
import typer

import forge.cli
from forge.cli import lazy, registry
from forge.cli.admin import AdminCommands
from forge.cli.main import OperatorCommands, app

GROUPS = {
    "forge": (OperatorCommands, registry.ROOT),
    "forge admin": (AdminCommands, registry.ADMIN),
}


def _context(path: str) -> Any:
    """The context of `forge` or `forge admin`, as help and completion see it."""
    ctx = typer.main.get_command(app).make_context("forge", [], resilient_parsing=True)
    if path == "forge admin":
        admin = ctx.command.get_command(ctx, "admin")
        ctx = admin.make_context("admin", [], parent=ctx, resilient_parsing=True)
    return ctx


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("path", list(GROUPS))
def test_help_from_the_registry_equals_typers_listing_of_the_built_commands(
    path: str, width: int
) -> None:
    cls, entries = GROUPS[path]
    ctx = _context(path)
    group = ctx.command
    assert isinstance(group, cls)
    listed = ctx.make_formatter()
    listed.width = width
    group.format_commands(ctx, listed)
    built = ctx.make_formatter()
    built.width = width
    # TyperGroup's own listing asks get_command for each name: every command is built.
    typer.core.TyperGroup.format_commands(group, ctx, built)
    assert listed.getvalue() == built.getvalue()
    assert set(group.commands) == set(entries)


@pytest.mark.parametrize("entries", [registry.ROOT, registry.ADMIN], ids=["forge", "admin"])
def test_every_command_takes_its_help_from_its_entry(entries: dict[str, registry.Entry]) -> None:
    for entry in entries.values():
        assert lazy.build(entry).help == entry.help, entry.name


def test_every_command_group_of_forge_is_in_the_registry() -> None:
    declared = {
        (e.module, e.attribute) for e in [*registry.ROOT.values(), *registry.ADMIN.values()]
    }
    for info in pkgutil.iter_modules(forge.cli.__path__, "forge.cli."):
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            if isinstance(value, typer.Typer) and (info.name, attribute) != (
                "forge.cli.main",
                "app",
            ):
                assert (info.name, attribute) in declared, (info.name, attribute)


# What `forge --help` and `forge admin --help` must not import: the application's libraries.
APPLICATION = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "redis", "rich")


def _modules_loaded_by(*argv: str) -> list[str]:
    """Every module one `forge` run imports, in a fresh interpreter (as the script runs)."""
    probe = (
        "import json, sys\n"
        f"sys.argv = ['forge', *{list(argv)!r}]\n"
        "from forge.cli.main import app\n"
        "try:\n    app()\n"
        "except SystemExit:\n    pass\n"
        "sys.__stderr__.write(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert (done.stdout or done.stderr).startswith("Usage: forge"), done
    loaded: list[str] = json.loads(done.stderr.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("argv", [["--help"], []])
def test_help_imports_no_command_module_nor_the_application(argv: list[str]) -> None:
    loaded = _modules_loaded_by(*argv)
    assert [m for m in loaded if m.startswith("forge")] == [
        "forge",
        "forge.cli",
        "forge.cli.lazy",
        "forge.cli.main",
        "forge.cli.registry",
        "forge.errors",
    ]
    assert [m for m in loaded if m.split(".")[0] in (*APPLICATION, "pydantic")] == []


def test_admin_help_imports_no_admin_group_nor_the_application() -> None:
    """Building the `admin` group loads Typer's option coercion (pydantic), nothing of ours."""
    loaded = _modules_loaded_by("admin", "--help")
    assert [m for m in loaded if m.startswith("forge.cli.")] == [
        "forge.cli.admin",
        "forge.cli.lazy",
        "forge.cli.main",
        "forge.cli.registry",
    ]
    assert [m for m in loaded if m.split(".")[0] in APPLICATION] == []


def test_a_command_imports_only_its_own_group() -> None:
    loaded = _modules_loaded_by("admin", "keys", "--help")
    assert [m for m in loaded if m.startswith("forge.cli.")] == [
        "forge.cli.admin",
        "forge.cli.admin_keys",
        "forge.cli.lazy",
        "forge.cli.main",
        "forge.cli.output",
        "forge.cli.registry",
    ]
