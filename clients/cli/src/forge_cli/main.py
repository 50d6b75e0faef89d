"""The `mf` application: command groups registered here, their modules load nothing heavy
(the SDK, httpx and Rich are imported by the command that runs)."""

from __future__ import annotations

import sys

import typer

from forge_cli import failures
from forge_cli.commands import api, auth, edge, keys, secrets, sites

app = typer.Typer(
    name="mf",
    help="The Forge command line: sites, environments, keys, secrets, redirects, cache, jobs.\n\n"
    "Authenticate with FORGE_TOKEN (and FORGE_API_URL) or `mf login`. Every command takes "
    "--json. Exit codes: 0 ok, 1 API error, 2 usage, 3 authentication, 4 not found, "
    "5 conflict or precondition, 6 rate limited, 7 network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

app.command()(auth.login)
app.command()(auth.logout)
app.command()(auth.whoami)
app.add_typer(sites.sites, name="sites")
app.add_typer(sites.envs, name="envs")
app.add_typer(keys.keys, name="keys")
app.command("limits")(keys.limits)
app.add_typer(secrets.secrets, name="secrets")
app.command("deploy")(secrets.deploy)
app.add_typer(secrets.audit, name="audit")
app.add_typer(edge.redirects, name="redirects")
app.add_typer(edge.cache, name="cache")
app.add_typer(edge.jobs, name="jobs")
app.command("api")(api.api)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # every failure becomes one line and an exit code
        sys.exit(failures.report(exc))
