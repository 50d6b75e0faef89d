"""`forge admin limits …`: per-team and per-key rate-limit overrides.

A key's override wins over its team's, which wins over the FORGE_RATELIMIT_* defaults. Every
process picks a change up within a few seconds (its in-memory copy is refreshed that often).
"""

from __future__ import annotations

from typing import Annotated

import typer

from forge.cli.output import (
    console,
    emit_json,
    fail,
    operator_database,
    settings_or_exit,
)
from forge.clock import rfc3339
from forge.ratelimit import service
from forge.ratelimit.limiter import BUCKETS, OverrideCache

limits_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, add_completion=False
)  # help: forge.cli.registry

TeamOption = Annotated[str | None, typer.Option("--team", help="A team id (all its keys)")]
KeyOption = Annotated[str | None, typer.Option("--key", help="A key id (wins over its team)")]
PROPAGATION = f"every process applies it within {OverrideCache.TTL_SECONDS:.0f} s"


def _target(team: str | None, key: str | None) -> tuple[str, str]:
    if (team is None) == (key is None):
        fail("name exactly one of --team or --key")
    return ("team", team) if team is not None else ("key", key)  # type: ignore[return-value]


def _bucket(bucket: str | None) -> str | None:
    if bucket is not None and bucket not in BUCKETS:
        fail(f"--bucket must be one of {', '.join(BUCKETS)}")
    return bucket


@limits_app.command("set")
def limits_set(
    bucket: Annotated[str, typer.Option("--bucket", help="read | write | create")],
    limit: Annotated[int, typer.Option("--limit", help="Requests per window (≥ 1)")],
    team: TeamOption = None,
    key: KeyOption = None,
) -> None:
    """Set one bucket's limit for a team or a key."""
    scope_type, scope_id = _target(team, key)
    _bucket(bucket)
    with operator_database().session() as session:
        service.set_override(session, scope_type, scope_id, bucket, limit)
    console.print(f"{scope_type} {scope_id}: {bucket} limited to {limit}; {PROPAGATION}")


@limits_app.command("show")
def limits_show(
    team: TeamOption = None,
    key: KeyOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The defaults and the overrides (all, or one team's or key's)."""
    settings = settings_or_exit()
    target = _target(team, key) if team is not None or key is not None else (None, None)
    with operator_database().session() as session:
        rows = [
            {
                "scope": o.scope_type,
                "id": o.scope_id,
                "bucket": o.bucket,
                "limit": o.limit,
                "updated_at": rfc3339(o.updated_at),
            }
            for o in service.list_overrides(session, *target)
        ]
    defaults = {
        "read": settings.ratelimit_read,
        "write": settings.ratelimit_write,
        "create": settings.ratelimit_create,
        "window_seconds": settings.ratelimit_window,
    }
    if as_json:
        emit_json({"defaults": defaults, "overrides": rows})
        return
    console.print(
        f"defaults per {settings.ratelimit_window} s: read {defaults['read']}, "
        f"write {defaults['write']}, create {defaults['create']}"
    )
    if not rows:
        console.print("no overrides")
    for row in rows:
        console.print(f"{row['scope']} {row['id']}: {row['bucket']} {row['limit']}")


@limits_app.command("clear")
def limits_clear(
    team: TeamOption = None,
    key: KeyOption = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="Only this bucket")] = None,
) -> None:
    """Remove a team's or key's overrides (all buckets, or one): the defaults apply again."""
    scope_type, scope_id = _target(team, key)
    with operator_database().session() as session:
        removed = service.clear_overrides(session, scope_type, scope_id, _bucket(bucket))
    console.print(f"{scope_type} {scope_id}: {removed} override(s) removed; {PROPAGATION}")
