"""`mf --help` lists forge_cli.registry without building a command; these check that the list it
shows is exactly what Typer shows for the commands built for real, and that a run imports only
what it needs."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from typing import Any

import pytest
import typer

from forge_cli import commands, main, registry


def _root_context() -> Any:
    """The context of `mf` itself, as help and completion see it."""
    return typer.main.get_command(main.app).make_context("mf", [], resilient_parsing=True)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_help_from_the_registry_equals_typers_listing_of_the_built_commands(width: int) -> None:
    ctx = _root_context()
    group = ctx.command
    assert isinstance(group, main.LazyGroups)
    listed = ctx.make_formatter()
    listed.width = width
    group.format_commands(ctx, listed)
    built = ctx.make_formatter()
    built.width = width
    # TyperGroup's own listing asks get_command for each name: every command is built.
    typer.core.TyperGroup.format_commands(group, ctx, built)
    assert listed.getvalue() == built.getvalue()
    assert set(group.commands) == set(registry.ENTRIES)


def test_every_command_takes_its_help_from_its_entry() -> None:
    for entry in registry.ENTRIES.values():
        assert main.build(entry).help == entry.help, entry.name


def test_every_command_group_of_mf_is_in_the_registry() -> None:
    declared = {(entry.module, entry.attribute) for entry in registry.ENTRIES.values()}
    for module_info in pkgutil.iter_modules(commands.__path__, f"{commands.__name__}."):
        module = importlib.import_module(module_info.name)
        for attribute, value in vars(module).items():
            if isinstance(value, typer.Typer):
                assert (module_info.name, attribute) in declared


def _modules_loaded_by(*argv: str) -> list[str]:
    """The modules of interest that one `mf` run imports (in a fresh interpreter)."""
    probe = (
        "import json, sys\n"
        f"sys.argv = ['mf', *{list(argv)!r}]\n"
        "import forge_cli.main\n"
        "try:\n    forge_cli.main.main()\n"
        "except SystemExit:\n    pass\n"
        "prefixes = ('forge_cli.commands.', 'forge_sdk', 'httpx', 'rich', 'pydantic')\n"
        "loaded = [m for m, module in sys.modules.items() if module and m.startswith(prefixes)]\n"
        "sys.__stderr__.write(json.dumps(sorted(loaded)))"
    )
    env = {"NO_COLOR": "1", "FORGE_TOKEN": "", "XDG_CONFIG_HOME": "/nonexistent", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    loaded: list[str] = json.loads(done.stderr.splitlines()[-1])
    return loaded


def test_help_imports_no_command_module_nor_the_sdk_nor_rich() -> None:
    assert _modules_loaded_by("--help") == []


def test_a_command_imports_only_its_own_module_and_no_sdk_before_it_has_a_key() -> None:
    loaded = _modules_loaded_by("sites", "list", "--json")  # no key: exit 3 before any request
    assert [m for m in loaded if m.startswith("forge_cli.")] == ["forge_cli.commands.sites"]
    assert not [m for m in loaded if m.startswith(("forge_sdk", "httpx", "rich"))]


# mf as installed: its console script's body, run by this interpreter.
_MF = [sys.executable, "-c", "from forge_cli.main import main; main()"]


def _mf_usage_error(*argv: str) -> tuple[int, str]:
    done = subprocess.run(
        [*_MF, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr.strip().splitlines()[-1]


def test_a_mistyped_command_is_a_usage_error_suggesting_the_nearest_one() -> None:
    assert _mf_usage_error("sitez") == (2, "Error: No such command 'sitez'. Did you mean 'sites'?")
    assert _mf_usage_error("secret", "list") == (
        2,
        "Error: No such command 'secret'. Did you mean 'secrets'?",
    )
    assert _mf_usage_error("sites", "lst") == (
        2,
        "Error: No such command 'lst'. Did you mean 'list'?",
    )
    assert _mf_usage_error("qqqq") == (2, "Error: No such command 'qqqq'.")
