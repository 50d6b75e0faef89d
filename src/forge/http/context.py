"""Per-request values that deep code (envelopes, logs) reads without threading them through."""

from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    return REQUEST_ID.get()
