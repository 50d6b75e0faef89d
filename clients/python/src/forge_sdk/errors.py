"""Exceptions by class: one per kind of failure a caller handles differently.

Every API error carries `status`, `code`, `message`, `param` and `request_id` (quote it when
asking for help); subclasses add what that failure needs (`required_scope`, `retry_after`, …).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ForgeError(Exception):
    """The base of every error the SDK raises: `code`, `message` and `request_id` on all of
    them (`request_id` is None when no answer came)."""

    code: str = "error"
    request_id: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(ForgeError):
    """No API key, or a malformed key or API URL: nothing was sent."""

    code = "configuration"


class APIConnectionError(ForgeError):
    """The API could not be reached, or the connection broke before an answer (after retries)."""

    code = "connection_error"


class APITimeoutError(APIConnectionError):
    """The API did not answer in time (after retries)."""

    code = "timeout"


class JobTimeoutError(ForgeError):
    """A job was still running when `wait(timeout=…)` gave up; it may still finish."""

    code = "job_timeout"

    def __init__(self, job_id: str, status: str, timeout: float) -> None:
        super().__init__(f"job {job_id} is still {status} after {timeout:g} s")
        self.job_id = job_id
        self.status = status


class APIError(ForgeError):
    """The API answered with an error (`{"error": {...}, "request_id"}`)."""

    def __init__(
        self,
        status: int,
        error: Mapping[str, Any],
        request_id: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.error = dict(error)
        self.type: str = str(error.get("type", "api_error"))
        self.code: str = str(error.get("code", "unknown"))
        self.param: str | None = error.get("param")
        self.request_id = request_id
        self.headers = dict(headers or {})
        message = str(error.get("message", f"HTTP {status}"))
        super().__init__(message)

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.status} {self.code}: {self.message}{where}"


class BadRequestError(APIError):
    """400: malformed JSON, an unknown version, a key where keys may not travel."""


class AuthenticationError(APIError):
    """401: no key, or a malformed, unknown, expired or revoked one."""


class PermissionDeniedError(APIError):
    """403: the key lacks a scope (`required_scope`), its pin or allowlist forbids it."""

    @property
    def required_scope(self) -> str | None:
        value = self.error.get("required_scope")
        return str(value) if value is not None else None

    @property
    def key_scopes(self) -> list[str]:
        return [str(scope) for scope in self.error.get("key_scopes") or []]


class NotFoundError(APIError):
    """404: it does not exist, or not for this key (another team, mode or pin)."""


class ConflictError(APIError):
    """409: a name is taken, the state forbids it, or an idempotent request is still running."""


class PreconditionFailedError(APIError):
    """412: `If-Match` no longer matches; read again, re-apply your change, write again."""


class ValidationError(APIError):
    """422 (and 413/415): `param` names the first bad field, `errors` lists all of them."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self.error.get("errors") or []]


class RateLimitError(APIError):
    """429 after every retry: `retry_after` seconds until the bucket has a unit again."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_of(self.headers, self.error)


class InternalServerError(APIError):
    """5xx after every retry: the API's fault; the request id lets the operator find it."""


class JobFailedError(ForgeError):
    """A job ended `failed`; `job` is its last state, `error` what the API says went wrong."""

    code = "job_failed"

    def __init__(self, job: Any, error: Any) -> None:
        super().__init__(f"job {_field(job, 'id')} failed: {error}")
        self.job = job
        self.error = error


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def retry_after_of(headers: Mapping[str, str], error: Mapping[str, Any]) -> float | None:
    """Seconds to wait, from the `Retry-After` header (or the body's `retry_after`)."""
    for raw in (headers.get("retry-after"), error.get("retry_after")):
        if raw is None:
            continue
        try:
            return max(0.0, float(raw))
        except (TypeError, ValueError):
            continue
    return None


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: ValidationError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


def error_for(
    status: int, body: Any, headers: Mapping[str, str], request_id: str | None
) -> APIError:
    """The exception for an error response, whatever shape its body has."""
    error: Mapping[str, Any]
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        error = body["error"]
    elif isinstance(body, Mapping) and isinstance(body.get("error"), str):
        error = {"message": body["error"], "code": body.get("code") or "unknown"}
    else:
        error = {"message": f"HTTP {status} with a body that is not a Forge error"}
    cls = _BY_STATUS.get(status, InternalServerError if status >= 500 else APIError)
    return cls(status, error, request_id, headers)
