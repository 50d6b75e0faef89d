"""What a command prints: `--json` (exactly the API's data), or Rich tables and panels for
people. Colour follows the terminal: none when piped or with NO_COLOR (Rich's own rules)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

_consoles: dict[bool, Console] = {}
# Piped with no COLUMNS, output has no width to fit: rows are printed whole, one line each
# (Rich would assume 80 columns and fold names and descriptions for a reader who is a script).
_PIPED_WIDTH = 10_000


def console(stderr: bool = False) -> Console:
    """The Rich console of stdout (or stderr), made on first use: the JSON path never imports
    Rich. Text is printed as it is: a value holding `[red]` or `:smile:` is data, not markup
    or an emoji code."""
    if stderr not in _consoles:
        from rich.console import Console

        made = Console(stderr=stderr, highlight=False, markup=False, emoji=False, soft_wrap=False)
        if not made.is_terminal and not os.environ.get("COLUMNS"):
            made.width = _PIPED_WIDTH
        _consoles[stderr] = made
    return _consoles[stderr]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value) if value else "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items()) if value else "—"
    return str(value)


_WHOLE = {"action", "key", "kind", "status", "slug", "mode"}


def table(rows: Sequence[Mapping[str, Any]], columns: Iterable[str], title: str = "") -> None:
    """A Rich table of `rows`, one column per field named."""
    from rich.table import Table

    columns = list(columns)
    grid = Table(title=title or None, title_justify="left", header_style="bold")
    for column in columns:
        # Ids stay whole so they can be copied; other cells fold to fit the terminal.
        whole = column.endswith(("id", "_at", "prefix")) or column in _WHOLE
        grid.add_column(column.replace("_", " "), overflow="fold", no_wrap=whole)
    for row in rows:
        grid.add_row(*(_cell(row.get(column)) for column in columns))
    console().print(grid)
    if not rows:
        console().print("(none)", style="dim")


def panel(obj: Mapping[str, Any], title: str, fields: Iterable[str] | None = None) -> None:
    """A key–value panel of one object (every field, or those named)."""
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name in fields or obj.keys():
        if name in obj:
            grid.add_row(name.replace("_", " "), _cell(obj[name]))
    console().print(Panel(grid, title=title, title_align="left", expand=False))


def note(text: str) -> None:
    """A remark for the person at the terminal (stderr, so stdout stays parseable)."""
    console(stderr=True).print(text, style="dim")


def success(text: str) -> None:
    console().print(text, style="green")
