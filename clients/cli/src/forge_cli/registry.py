"""Every top-level command of mf, declared once: its name, where it lives and its help.

`mf --help` lists this registry without importing a single command module, and the commands
themselves take their help from it (`context.group`, `forge_cli.main`), so the list `mf --help`
shows and the commands it runs cannot disagree. Importing this module costs nothing: no Typer,
no SDK.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    attribute: str  # a `typer.Typer` group, or a function that is one command
    help: str


_ENTRIES = [
    # Commands of their own (functions), then the command groups, in the order help lists them.
    Entry(
        "login",
        "forge_cli.commands.auth",
        "login",
        "Store an API key for mf (checked first; the file is readable by you alone).",
    ),
    Entry("logout", "forge_cli.commands.auth", "logout", "Forget the stored API key."),
    Entry(
        "whoami",
        "forge_cli.commands.auth",
        "whoami",
        "The key mf uses: its owner, scopes, pin, expiry and budgets.",
    ),
    Entry(
        "limits",
        "forge_cli.commands.keys",
        "limits",
        "Your rate-limit budget, bucket by bucket (spends nothing).",
    ),
    Entry(
        "deploy",
        "forge_cli.commands.secrets",
        "deploy",
        "Deploy: snapshot the origin and the current secret versions.",
    ),
    Entry(
        "api",
        "forge_cli.commands.api",
        "api",
        "Call any route and print the whole JSON answer (`data`, `request_id`, …).",
    ),
    Entry("sites", "forge_cli.commands.sites", "sites", "Sites: list, get, create, delete."),
    Entry(
        "envs",
        "forge_cli.commands.sites",
        "envs",
        "A site's environments: list, get, create, update.",
    ),
    Entry(
        "keys",
        "forge_cli.commands.keys",
        "keys",
        "API keys: list, create, get, update, roll, revoke, self.",
    ),
    Entry(
        "secrets",
        "forge_cli.commands.secrets",
        "secrets",
        "Per-environment secrets: list, set, unset, delete, import, compare, restore.",
    ),
    Entry("audit", "forge_cli.commands.secrets", "audit", "The audit log."),
    Entry(
        "redirects",
        "forge_cli.commands.edge",
        "redirects",
        "Redirect rules: get, put (guarded by If-Match), test.",
    ),
    Entry("cache", "forge_cli.commands.edge", "cache", "The edge cache: show, purge."),
    Entry("jobs", "forge_cli.commands.edge", "jobs", "Background jobs: get, list, wait."),
]

ENTRIES: dict[str, Entry] = {entry.name: entry for entry in _ENTRIES}


def help_of(name: str) -> str:
    return ENTRIES[name].help
