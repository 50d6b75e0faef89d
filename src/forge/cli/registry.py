"""Every command group of `forge` and `forge admin`, declared once: name, where it lives, help.

`forge --help` (and `forge admin --help`) list these entries without importing a command module:
the commands import the services, and with them SQLAlchemy, Alembic, FastAPI and the rest,
which cost about a second of CPU that a look at the help should not pay. A command takes its
help from its entry (forge.cli.lazy.build), so the listing and the commands cannot disagree.
Importing this module costs nothing: no Typer, nothing of Forge.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    attribute: str  # a `typer.Typer` group, or a function that is one command
    help: str


def _index(*entries: Entry) -> dict[str, Entry]:
    return {entry.name: entry for entry in entries}


ROOT = _index(
    Entry(
        "init",
        "forge.cli.first_run",
        "init",
        "Create the first team, owner, demo site and key (idempotent).",
    ),
    Entry(
        "migrate",
        "forge.cli.first_run",
        "migrate",
        "Bring the database schema to the newest revision.",
    ),
    Entry(
        "serve",
        "forge.cli.servers",
        "serve",
        "Serve the API and an edge (several API processes with --workers; each runs one query "
        "at a time). At scale, `--no-worker --no-edge`: the API alone.",
    ),
    Entry(
        "worker",
        "forge.cli.servers",
        "worker",
        "Run a job worker as its own process (stops on SIGTERM/SIGINT, handing its jobs back).",
    ),
    Entry(
        "edge",
        "forge.cli.servers",
        "edge_app",
        "Run an edge (the caching reverse proxy) as its own process; with --cache varnish, as "
        "the backend of a Varnish holding the cache (its VCL: `forge edge vcl`).",
    ),
    Entry(
        "demo-origin",
        "forge.cli.servers",
        "demo_origin",
        "Serve a small cacheable, tagged origin to try the edge with.",
    ),
    Entry(
        "admin",
        "forge.cli.admin",
        "admin",
        "Operator commands (platform admin): teams, projects, sites, people, keys, limits.",
    ),
)

ADMIN = _index(
    Entry("teams", "forge.cli.admin_teams", "teams_app", "Teams: create."),
    Entry("projects", "forge.cli.admin_teams", "projects_app", "A team's projects: create."),
    Entry("sites", "forge.cli.admin_sites", "sites_app", "A team's sites: create."),
    Entry("clients", "forge.cli.admin_clients", "clients", "People in teams."),
    Entry("keys", "forge.cli.admin_keys", "keys_app", "API keys and service tokens."),
    Entry(
        "limits",
        "forge.cli.admin_limits",
        "limits_app",
        "Rate-limit overrides per team or per key.",
    ),
    Entry(
        "master-key",
        "forge.cli.admin_master_key",
        "master_key_app",
        "The master key that wraps secret values.",
    ),
    Entry(
        "deployments",
        "forge.cli.admin_deployments",
        "deployments_app",
        "Deployments (the runtime's view).",
    ),
)
