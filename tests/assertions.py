"""What every test asserts about a response: the contract's envelope and error shape."""

from __future__ import annotations

from typing import Any

import httpx


def assert_error(
    response: httpx.Response, status: int, code: str, param: str | object | None = ...
) -> dict[str, Any]:
    """The response is the documented error: status, code, shape, request id in body and header.

    Returns the `error` object for further checks; `param` is checked when given."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}, body
    error = body["error"]
    assert {"type", "code", "message", "param"} <= set(error), error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if param is not ...:
        assert error["param"] == param, error
    assert body["request_id"].startswith("req_")
    assert response.headers["request-id"] == body["request_id"]
    return dict(error)


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a successful response, after checking the envelope around it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["request_id"].startswith("req_")
    assert response.headers["request-id"] == body["request_id"]
    return body["data"]
