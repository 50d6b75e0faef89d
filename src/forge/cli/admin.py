"""`forge admin …`: the operator's door. No API key can do any of this. Its groups are declared
in forge.cli.registry (ADMIN) and built only when run."""

from __future__ import annotations

from forge.cli import lazy, registry


class AdminCommands(lazy.LazyCommands):
    entries = registry.ADMIN


admin = lazy.group(AdminCommands, registry.ROOT["admin"].help)
