"""What both campaigns check beyond schemathesis' own checks, and the one they relax."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from schemathesis.specs.openapi.checks import positive_data_acceptance

# "Schema-valid data is accepted" allows a 404 or a 409: a schema describes a request's shape,
# not what is stored. Three more answers are of that kind, and no schema can say them: a
# `starting_after` that names no item of that very list, an Idempotency-Key already used for
# another request, and an environment's `parent` that names no environment of its site. Only
# those are let through, by status, code and param.
STATE_REFUSALS = {
    (400, "invalid_request", "starting_after"),
    (422, "idempotency_key_reused", "Idempotency-Key"),
    (422, "validation_error", "parent"),
}


def _refused_for_state(response: Any) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(error, dict):
        return False
    return (response.status_code, error.get("code"), error.get("param")) in STATE_REFUSALS


def schema_valid_data_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    if _refused_for_state(response):
        return None
    return positive_data_acceptance(ctx, response, case)


def request_id_and_no_key(secret: str) -> Callable[[Any, Any, Any], None]:
    """Every `/v1` error carries its request id, in body and header (an idempotent replay's
    body is the first answer's, with the first request's id: docs/idempotency.md); no response
    carries the caller's key."""

    def check(ctx: Any, response: Any, case: Any) -> None:
        assert secret not in response.text, "the caller's key came back in a response"
        if response.status_code >= 400 and urlsplit(response.request.url).path.startswith("/v1/"):
            body = response.json()
            assert body["request_id"].startswith("req_"), body
            if response.headers.get("idempotent-replayed") != ["true"]:
                assert response.headers["request-id"] == [body["request_id"]]

    return check


def validation(secret: str) -> dict[str, Any]:
    """The keyword arguments of `call_and_validate`/`validate_response`: every check
    schemathesis has, the relaxed one swapped for ours, and ours."""
    return {
        "excluded_checks": [positive_data_acceptance],
        "additional_checks": [schema_valid_data_is_accepted, request_id_and_no_key(secret)],
    }
