"""What the sync and async clients share: settings, the request they send, when to retry and
how long to wait, and how an answer becomes data or an exception. No I/O here."""

from __future__ import annotations

import os
import random
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from forge_sdk import errors
from forge_sdk._version import FORGE_VERSION, __version__

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
# A server asking for a longer wait than this is refused at once rather than waited on.
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Settings:
    token: str
    base_url: str
    max_retries: int
    timeout: float
    backoff: float

    @classmethod
    def resolve(
        cls,
        token: str | None,
        base_url: str | None,
        *,
        max_retries: int,
        timeout: float,
        backoff: float,
    ) -> Settings:
        token = token if token is not None else os.environ.get("FORGE_TOKEN", "")
        if not token:
            raise errors.ConfigurationError(
                "no API key: pass token=… or set FORGE_TOKEN (mint one with `forge init`)"
            )
        if token != token.strip() or any(ch in token for ch in "\r\n"):
            raise errors.ConfigurationError("the API key contains whitespace; copy it again")
        url = (base_url or os.environ.get("FORGE_API_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise errors.ConfigurationError(f"the API URL must start with http(s)://: {url!r}")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        return cls(token, url, max_retries, timeout, backoff)

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Forge-Version": FORGE_VERSION,
            "User-Agent": f"forge-sdk-python/{__version__}",
            "Accept": "application/json",
        }

    def tls(self) -> ssl.SSLContext | bool:
        """Certificates are loaded only for an https API: loading the CA bundle is most of a
        plain-http client's start-up. The http context verifies against no CA at all, so it
        can never accept a certificate."""
        if self.base_url.startswith("https://"):
            return True
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None

    def __post_init__(self) -> None:
        # One key per logical POST, generated once and so sent unchanged on every retry.
        if self.method == "POST" and "Idempotency-Key" not in self.headers:
            self.headers["Idempotency-Key"] = str(uuid.uuid4())

    def kwargs(self, settings: Settings) -> dict[str, Any]:
        params = {k: _param(v) for k, v in (self.params or {}).items() if v is not None}
        out: dict[str, Any] = {"headers": self.headers}
        if params:  # an empty mapping would drop a query already in the path (`mf api`)
            out["params"] = params
        if self.has_body:
            out["json"] = self.json
        if self.timeout is not None:
            out["timeout"] = self.timeout
        return out


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


@dataclass(frozen=True)
class Answer:
    """A successful response: its status, headers and parsed JSON body."""

    status: int
    headers: httpx.Headers
    body: Any

    @property
    def request_id(self) -> str | None:
        value: str | None = self.headers.get("request-id")
        return value


def retry_delay(
    settings: Settings, attempt: int, outcome: httpx.Response | Exception
) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None when this outcome is final."""
    if attempt >= settings.max_retries:
        return None
    if isinstance(outcome, Exception):
        return _backoff(settings, attempt) if isinstance(outcome, httpx.TransportError) else None
    status = outcome.status_code
    if status == 409:
        if _error_code(outcome) != "idempotency_in_progress":
            return None
    elif status not in RETRYABLE_STATUSES:
        return None
    wait = errors.retry_after_of(outcome.headers, {})
    if wait is None:
        return _backoff(settings, attempt)
    if wait > MAX_RETRY_AFTER:
        return None
    # Never sooner than the server asked; a little jitter so retries do not arrive together.
    return wait + random.uniform(0, settings.backoff / 2)  # noqa: S311 (jitter, not security)


def _backoff(settings: Settings, attempt: int) -> float:
    """Exponential backoff with jitter: half fixed, half random, capped at 8 s."""
    ceiling: float = min(8.0, settings.backoff * (2**attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        code = body["error"].get("code")
        return None if code is None else str(code)
    return None


def conclude(outcome: httpx.Response | Exception) -> Answer:
    """The final outcome as an Answer, or the exception that describes it."""
    if isinstance(outcome, httpx.TimeoutException):
        raise errors.APITimeoutError(f"the API did not answer in time: {outcome}") from outcome
    if isinstance(outcome, httpx.TransportError):
        raise errors.APIConnectionError(f"cannot reach the API: {outcome}") from outcome
    if isinstance(outcome, Exception):
        raise outcome
    try:
        body = outcome.json() if outcome.content else None
    except ValueError:
        body = None
    request_id = outcome.headers.get("request-id")
    if outcome.status_code >= 400:
        raise errors.error_for(outcome.status_code, body, outcome.headers, request_id)
    return Answer(outcome.status_code, outcome.headers, body)
