"""The one error hierarchy. Services raise these; `forge.http.errors` turns them into HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class ForgeError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "api_error"
    code: ClassVar[str] = "internal"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}


class InvalidRequest(ForgeError):
    status, type, code = 400, "invalid_request_error", "invalid_request"


class InvalidVersion(ForgeError):
    status, type, code = 400, "invalid_request_error", "invalid_version"


class AuthenticationFailed(ForgeError):
    status, type, code = 401, "authentication_error", "authentication"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="forge"'})


class InsufficientScope(ForgeError):
    status, type, code = 403, "permission_error", "insufficient_scope"

    def __init__(self, required: str, granted: list[str], role: str | None = None) -> None:
        message = (
            f"This key holds '{required}', but its owner's current role ({role}) no longer "
            "allows it."
            if role is not None
            else f"This key lacks the '{required}' scope needed for this request."
        )
        super().__init__(
            message,
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="forge", error="insufficient_scope", scope="{required}"'
                )
            },
            extra={"required_scope": required, "key_scopes": granted},
        )


class Forbidden(ForgeError):
    """A valid caller asks for something its rights or constraint can never allow."""

    status, type, code = 403, "permission_error", "forbidden"


class IpNotAllowed(ForgeError):
    status, type, code = 403, "permission_error", "ip_not_allowed"


class NotFound(ForgeError):
    status, type, code = 404, "invalid_request_error", "not_found"


class MethodNotAllowed(ForgeError):
    status, type, code = 405, "invalid_request_error", "method_not_allowed"


class Conflict(ForgeError):
    status, type, code = 409, "invalid_request_error", "conflict"


class PreconditionFailed(ForgeError):
    status, type, code = 412, "invalid_request_error", "precondition_failed"


class PayloadTooLarge(ForgeError):
    status, type, code = 413, "invalid_request_error", "payload_too_large"


class UnsupportedMediaType(ForgeError):
    status, type, code = 415, "invalid_request_error", "unsupported_media_type"


class ValidationFailed(ForgeError):
    status, type, code = 422, "invalid_request_error", "validation_error"


class IdempotencyKeyReused(ForgeError):
    status, type, code = 422, "idempotency_error", "idempotency_key_reused"


class IdempotencyInProgress(ForgeError):
    status, type, code = 409, "idempotency_error", "idempotency_in_progress"


class RateLimited(ForgeError):
    status, type, code = 429, "rate_limit_error", "rate_limited"


class Internal(ForgeError):
    status, type, code = 500, "api_error", "internal"


class ServiceUnavailable(ForgeError):
    """A dependency (the database) did not answer in time; nothing was done."""

    status, type, code = 503, "api_error", "service_unavailable"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "1"})
        super().__init__(message, **kwargs)


CATALOGUE: tuple[type[ForgeError], ...] = (
    InvalidRequest,
    InvalidVersion,
    AuthenticationFailed,
    InsufficientScope,
    Forbidden,
    IpNotAllowed,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    IdempotencyKeyReused,
    IdempotencyInProgress,
    RateLimited,
    Internal,
    ServiceUnavailable,
)
