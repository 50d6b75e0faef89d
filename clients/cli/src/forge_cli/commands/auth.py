"""mf login / logout / whoami: credentials, checked against `GET /v1/api-keys/self`."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer

from forge_cli import config, context, output
from forge_cli.failures import Usage

ME_FIELDS = [
    "name",
    "prefix",
    "family",
    "mode",
    "owner",
    "scopes",
    "effective_scopes",
    "resource",
    "ip_allowlist",
    "expires_at",
    "previous_prefix",
    "previous_expires_at",
]


def _read_token(from_stdin: bool) -> str:
    if from_stdin:
        token = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        token = getpass.getpass("API key (input hidden): ").strip()
    else:
        raise Usage("stdin is not a terminal: pipe the key with `--token-stdin`")
    if not token:
        raise Usage("no API key given")
    return token


# `mf login`; its help text is its entry in forge_cli.registry.
def login(
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the key from stdin (for scripts).")
    ] = False,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="The API's address (default FORGE_API_URL).")
    ] = None,
) -> None:
    from forge_sdk import Forge

    token = _read_token(token_stdin)
    url = api_url or config.load().api_url
    with Forge(token=token, base_url=url) as probe:
        me = probe.keys.self()
    path = config.save(token, url)
    output.success(f"Logged in to {url} as {me.name} ({me.prefix}, {me.mode} mode).")
    output.note(f"Saved to {path} (mode 0600).")
    if os.environ.get("FORGE_TOKEN"):
        output.note("FORGE_TOKEN is set and takes precedence over the saved key.")


# `mf logout`; its help text is its entry in forge_cli.registry.
def logout() -> None:
    path = config.forget()
    output.success(f"Logged out: removed {path}." if path else "No stored key: nothing to do.")
    if os.environ.get("FORGE_TOKEN"):
        output.note("FORGE_TOKEN is still set in this shell and still used.")


# `mf whoami`; its help text is its entry in forge_cli.registry.
def whoami(as_json: context.Json = False) -> None:
    credentials = config.load()
    me = context.client().keys.self()
    if as_json:
        output.emit_json(me)
        return
    output.panel(
        {**me, "api_url": credentials.api_url, "key_from": credentials.source},
        f"key {me['id']}",
        [*ME_FIELDS, "api_url", "key_from"],
    )
    output.table(me["budgets"], ["kind", "limit", "remaining", "reset"], "rate-limit budgets")
