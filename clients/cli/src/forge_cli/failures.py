"""How a failure is told: one red line on stderr (what failed, the request id, what to do next)
and a documented exit code."""

from __future__ import annotations

import os
import sys
from typing import Any

OK = 0
API_ERROR = 1
USAGE = 2
AUTHENTICATION = 3
NOT_FOUND = 4
CONFLICT = 5
RATE_LIMITED = 6
NETWORK = 7


class Usage(Exception):
    """A mistake in how mf was called (exit 2), found after argument parsing."""


class Stop(Exception):
    """A failure mf itself noticed (no API error behind it), with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _red(text: str) -> str:
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        return text
    return f"\x1b[31m{text}\x1b[0m"


def say_error(text: str) -> None:
    sys.stderr.write(_red(f"error: {text}") + "\n")


def report(exc: BaseException) -> int:
    """Print `exc` as one line and answer its exit code; re-raise what is not ours."""
    if isinstance(exc, Usage):
        say_error(str(exc))
        return USAGE
    if isinstance(exc, Stop):
        say_error(str(exc))
        return exc.code
    if "forge_sdk" not in sys.modules:
        raise exc
    from forge_sdk import errors

    if isinstance(exc, errors.APIError):
        say_error(_api_line(exc))
        return _exit_code(exc)
    if isinstance(exc, errors.ConfigurationError):
        say_error(f"{exc.message}; or run `mf login`")
        return AUTHENTICATION
    if isinstance(exc, errors.APIConnectionError):
        from forge_cli import config

        url = config.load().api_url
        say_error(f"{exc.message}. Is Forge running at {url}? (`make run`; or set FORGE_API_URL)")
        return NETWORK
    if isinstance(exc, errors.JobTimeoutError):
        say_error(f"{exc.message}; it may still finish: `mf jobs wait {exc.job_id}`")
        return API_ERROR
    if isinstance(exc, errors.JobFailedError):
        say_error(f"{exc.message}; `mf jobs get {_job_id(exc.job)}` shows its result")
        return API_ERROR
    raise exc


def _job_id(job: Any) -> str:
    return str(job.get("id") if isinstance(job, dict) else getattr(job, "id", "?"))


def _exit_code(exc: Any) -> int:
    status = exc.status
    if status == 401:
        return AUTHENTICATION
    if status == 404:
        return NOT_FOUND
    if status in (409, 412):
        return CONFLICT
    if status == 429:
        return RATE_LIMITED
    return API_ERROR


def _api_line(exc: Any) -> str:
    line = f"{exc.message} ({exc.status} {exc.code}"
    line += f", request {exc.request_id})" if exc.request_id else ")"
    hint = _next_step(exc)
    return f"{line}. {hint}" if hint else line


def _next_step(exc: Any) -> str:
    code, error = exc.code, exc.error
    if exc.status == 401:
        return "Check FORGE_TOKEN, or run `mf login` with a valid key."
    if code == "insufficient_scope":
        scope = error.get("required_scope", "?")
        return (
            f"Use a key that has `{scope}` (a team owner or admin can mint one: "
            f"`mf keys create NAME --scopes {scope}`)."
        )
    if code == "ip_not_allowed":
        return "Call from an address in the key's IP allowlist, or widen it (`mf keys update`)."
    if code == "forbidden":
        return "A key can never grant or reach more than the key that acts; use a wider key."
    if exc.status == 404:
        return "Check the id; a key sees only its own team, mode (test/live) and pin."
    if code == "idempotency_in_progress":
        return "The same request is still running; retry in a few seconds."
    if exc.status == 412:
        return "It changed since you read it: read it again, re-apply your change, then retry."
    if exc.status == 429:
        wait = error.get("retry_after") or exc.headers.get("retry-after")
        return f"Retry after {wait} s (`mf limits` shows your budget)."
    if exc.status == 422 and error.get("errors"):
        problems = "; ".join(
            f"{item.get('param')}: {item.get('message')}" for item in error["errors"][:5]
        )
        return f"Fix: {problems}."
    if exc.status >= 500:
        return "The API failed; quote the request id to its operator."
    return ""
