"""The operator CLI `forge`. Its commands are declared in forge.cli.registry and only the one a
run invokes is imported and built (forge.cli.lazy): `forge --help` imports no command module,
so none of the application (SQLAlchemy, Alembic, FastAPI, uvicorn)."""

from __future__ import annotations

from typing import Any

from forge.cli import lazy, registry
from forge.errors import ForgeError


class OperatorCommands(lazy.LazyCommands):
    """The root command group of `forge`. A domain error from any command below it (a key or
    team that does not exist, a name taken) ends the run here, as one line naming its code
    (`forge: not_found: No API key 'key_…'.`) and exit code 2: the commands call the services
    and leave the failure to this one place."""

    entries = registry.ROOT

    def invoke(self, ctx: Any) -> Any:  # Any: the Context of the click that typer vendors
        try:
            return super().invoke(ctx)
        except ForgeError as err:
            from forge.cli.output import fail

            fail(f"{err.code}: {err.message}")


app = lazy.group(OperatorCommands, "Forge operator CLI.")
