"""mf redirects …, mf cache … and mf jobs …"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from forge_cli import context, output
from forge_cli.context import EnvArg, Json, Limit, SiteArg
from forge_cli.failures import CONFLICT, Stop, Usage

redirects = context.group("redirects")
cache = context.group("cache")
jobs = context.group("jobs")

RULE_COLUMNS = ["index", "from", "to", "status", "comment"]
JOB_COLUMNS = ["id", "type", "status", "created_at", "finished_at", "resource"]
Timeout = Annotated[float, typer.Option(help="Seconds to wait for the job.")]


def _rules_table(obj: dict[str, Any], title: str) -> None:
    rows = [{"index": i, **rule} for i, rule in enumerate(obj.get("rules", []))]
    output.table(rows, RULE_COLUMNS, title)
    for warning in obj.get("warnings") or []:
        output.note(f"warning: {warning.get('param')}: {warning.get('message')}")


@redirects.command("get")
def get_redirects(
    site: SiteArg,
    env: EnvArg,
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the set to this file, to edit.")
    ] = None,
    as_json: Json = False,
) -> None:
    """The rule set in order; `-o FILE` saves it (with its version) for `mf redirects put`."""
    obj = context.client().redirects.get(*context.env_ids(site, env))
    if out is not None:
        document = {"etag": obj.etag, **obj}
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        output.success(f"Wrote {len(obj['rules'])} rules (version {obj['version']}) to {out}.")
    elif as_json:
        output.emit_json(obj)
    else:
        _rules_table(obj, f"redirects of {env}, version {obj['version']}")


def _read_rules(file: Path) -> tuple[list[Any], str | None, Any]:
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise Usage(f"cannot read rules from {file}: {exc}") from exc
    if isinstance(document, list):
        return document, None, None
    if isinstance(document, dict) and isinstance(document.get("rules"), list):
        return document["rules"], document.get("etag"), document.get("version")
    raise Usage(f"{file} holds neither a list of rules nor an object with `rules`")


@redirects.command("put")
def put_redirects(
    site: SiteArg,
    env: EnvArg,
    file: Annotated[Path, typer.Argument(help="A file written by `mf redirects get -o`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace even if the set changed since it was read.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Replace the whole rule set with the file's, unless it changed since the file was read."""
    from forge_sdk import PreconditionFailedError

    rules, etag, version = _read_rules(file)
    if etag is None and not force:
        raise Usage(
            f"{file} has no version to guard the write: get it with `mf redirects get "
            "-o FILE`, or pass --force to replace whatever is there"
        )
    sid, eid = context.env_ids(site, env)
    try:
        obj = context.client().redirects.replace(sid, eid, rules, if_match=None if force else etag)
    except PreconditionFailedError as exc:
        raise Stop(
            f"the redirects of {env} changed since {file} was read (version {version}); "
            f"run `mf redirects get {site} {env} -o {file}` again, re-apply your edit, then put "
            f"(request {exc.request_id})",
            CONFLICT,
        ) from exc
    if as_json:
        output.emit_json(obj)
    else:
        _rules_table(obj, f"redirects of {env}, now version {obj['version']}")


@redirects.command("test")
def test_redirects(
    site: SiteArg,
    env: EnvArg,
    url: Annotated[str, typer.Argument(help="A URL (https://host/path?q) or a path (/path).")],
    as_json: Json = False,
) -> None:
    """What the edge would answer for URL: the matching rule, the location and every hop."""
    sid, eid = context.env_ids(site, env)
    target = {"url": url} if "://" in url else {"path": url}
    obj = context.client().redirects.test(sid, eid, **target)
    if as_json:
        output.emit_json(obj)
        return
    if not obj.get("matched"):
        output.console().print(f"No rule matches {url}.")
        return
    output.panel({k: v for k, v in obj.items() if k != "chain"}, f"{url}")
    output.table(obj.get("chain") or [], ["index", "status", "location"], "chain")


@cache.command("show")
def show_cache(site: SiteArg, env: EnvArg, as_json: Json = False) -> None:
    """Configuration and current state across live edges."""
    obj = context.client().cache.get(*context.env_ids(site, env))
    if as_json:
        output.emit_json(obj)
        return
    config, state = obj["config"], obj["state"]
    summary = {
        "default_ttl": config["default_ttl"],
        "max_object_bytes": config["max_object_bytes"],
        "entries": state["entries"],
        "bytes": state["bytes"],
        "hit_ratio": state["hit_ratio"],
        "edges_reporting": state["edges_reporting"],
        "last_purge": obj["last_purge"],
    }
    output.panel(summary, f"cache of {env}")
    output.table(state["top_tags"], ["tag", "entries"], "top tags")
    output.table(obj["edges"], ["id", "name", "status", "applied_seq", "heartbeat_at"], "edges")


PROOF_COLUMNS = ["edge", "applied_at", "matched", "evicted", "marked_stale"]


def _proof(job: dict[str, Any]) -> None:
    """A job, and for a purge the proof: what every live edge matched and evicted, and when."""
    result = job.get("result") or {}
    output.panel({k: v for k, v in job.items() if k != "result"}, f"job {job['id']}")
    if "edges" in result:
        output.table(result["edges"], PROOF_COLUMNS, "applied by every live edge")
        output.panel({**result.get("totals", {}), "edges_down": result.get("edges_down")}, "totals")
    elif result:
        output.panel(result, "result")


def _wait(job: Any, timeout: float, as_json: bool) -> None:
    from forge_sdk import JobHandle

    handle = JobHandle(context.client(), job)
    if as_json or not sys.stderr.isatty():
        final = handle.wait(timeout=timeout)
    else:
        status = f"job {handle.id} {handle.status}: waiting until every edge has applied it"
        with output.console(stderr=True).status(status):
            final = handle.wait(timeout=timeout)
    if as_json:
        output.emit_json(final)
    else:
        _proof(dict(final))


@cache.command("purge")
def purge_cache(
    site: SiteArg,
    env: EnvArg,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Entries with this tag.")] = None,
    path: Annotated[
        list[str] | None, typer.Option("--path", help="A path; `*` matches any characters.")
    ] = None,
    cache_hash: Annotated[
        list[str] | None, typer.Option("--hash", help="An entry's Forge-Cache-Hash.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--type", help="page, object or all.")] = None,
    soft: Annotated[bool, typer.Option("--soft", help="Mark stale instead of evicting.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report matches only.")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Print the job id and exit.")] = False,
    timeout: Timeout = 60.0,
    as_json: Json = False,
) -> None:
    """Purge the edge cache (everything without selectors) and wait for the proof."""
    sid, eid = context.env_ids(site, env)
    handle = context.client().cache.purge(
        sid,
        eid,
        type=kind,
        tags=tag,
        paths=path,
        cache_hashes=cache_hash,
        soft=soft,
        dry_run=dry_run,
    )
    if no_wait:
        if as_json:
            output.emit_json(handle.job)
        else:
            sys.stdout.write(handle.id + "\n")
        return
    _wait(handle.job, timeout, as_json)


JobId = Annotated[str, typer.Argument(help="Job id (job_…).", show_default=False)]


@jobs.command("get")
def get_job(job: JobId, as_json: Json = False) -> None:
    """A job's state, result and error."""
    obj = context.client().jobs.get(job)
    if as_json:
        output.emit_json(obj)
    else:
        _proof(obj)


@jobs.command("list")
def list_jobs(
    kind: Annotated[str | None, typer.Option("--type", help="e.g. cache.purge.")] = None,
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, failed.")] = None,
    resource: Annotated[str | None, typer.Option(help="The id a job is about.")] = None,
    as_json: Json = False,
    limit: Limit = 50,
) -> None:
    """Jobs, newest first."""
    pager = context.client().jobs.list(
        type=kind, status=status, resource=resource, limit=context.page_size(limit)
    )
    context.show_list(pager, limit, as_json, JOB_COLUMNS, "jobs")


@jobs.command("wait")
def wait_job(job: JobId, timeout: Timeout = 60.0, as_json: Json = False) -> None:
    """Wait until a job has finished (exit 1 if it failed or is still running at --timeout)."""
    _wait(context.client().jobs.get(job), timeout, as_json)
