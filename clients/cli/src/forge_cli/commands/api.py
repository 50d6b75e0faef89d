"""mf api METHOD PATH: any route, authenticated, with retries and errors (like `gh api`)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from forge_cli import context, output
from forge_cli.failures import Usage


def _body(data: str | None) -> Any:
    if data is None:
        return None
    text = sys.stdin.read() if data == "-" else data
    if text.startswith("@"):
        with open(text[1:]) as source:
            text = source.read()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Usage(f"--data is not JSON: {exc}") from exc


# `mf api`; its help text is its entry in forge_cli.registry.
def api(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, PATCH or DELETE.")],
    path: Annotated[str, typer.Argument(help="e.g. /v1/sites?limit=5")],
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="A JSON body, @file, or - for stdin.")
    ] = None,
) -> None:
    verb = method.upper()
    if verb not in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}:
        raise Usage(f"unknown method {method!r}")
    if not path.startswith("/"):
        raise Usage("PATH starts with / (e.g. /v1/sites)")
    answer = context.client().request(verb, path, json=_body(data))
    if answer.body is not None:
        output.emit_json(answer.body)
