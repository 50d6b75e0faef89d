"""`forge admin …`: the operator's door. No API key can do any of this."""

from __future__ import annotations

import typer

from forge.cli.admin_clients import clients
from forge.cli.admin_deployments import deployments_app
from forge.cli.admin_keys import keys_app
from forge.cli.admin_limits import limits_app
from forge.cli.admin_master_key import master_key_app

admin = typer.Typer(help="Operator commands (platform admin).", no_args_is_help=True)
admin.add_typer(clients, name="clients")
admin.add_typer(keys_app, name="keys")
admin.add_typer(master_key_app, name="master-key")
admin.add_typer(deployments_app, name="deployments")
admin.add_typer(limits_app, name="limits")
