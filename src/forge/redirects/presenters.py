"""Answers carrying a whole rule set, written around the stored JSON array as it is.

A set of 100,000 rules is ~10 MB of JSON: it is stored in the answer's own form, so a read
streams that one copy out in slices instead of building rule objects and serialising them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import orjson
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from forge.http.context import current_request_id
from forge.redirects.schemas import ProblemOut
from forge.redirects.service import RuleSet
from forge.redirects.validation import Problem

CHUNK = 64 * 1024


class _Meta(BaseModel):
    version: int
    updated_at: datetime | None
    updated_by: str | None


class _WrittenMeta(_Meta):
    warnings: list[ProblemOut]


def _problem_out(problem: Problem) -> ProblemOut:
    return ProblemOut(
        index=problem.index, param=problem.param, code=problem.code, message=problem.message
    )


def _frame(rule_set: RuleSet, warnings: list[Problem] | None) -> tuple[bytes, bytes]:
    """What goes before and after the rules array in `{data: {rules, …}, request_id}`."""
    meta = _Meta(
        version=rule_set.version, updated_at=rule_set.updated_at, updated_by=rule_set.updated_by
    )
    if warnings is not None:
        meta = _WrittenMeta(**meta.model_dump(), warnings=[_problem_out(p) for p in warnings])
    tail = b"," + meta.model_dump_json().encode()[1:] + b',"request_id":'
    return b'{"data":{"rules":', tail + orjson.dumps(current_request_id()) + b"}"


def _slices(head: bytes, rules: bytes, tail: bytes) -> Iterator[bytes]:
    yield head
    view = memoryview(rules)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start : start + CHUNK])
    yield tail


def rule_set_response(
    rule_set: RuleSet, warnings: list[Problem] | None = None, *, stream: bool = True
) -> Response:
    """`stream=False` for answers an Idempotency-Key may store (they need the whole body)."""
    head, tail = _frame(rule_set, warnings)
    headers = {"ETag": rule_set.etag}
    if not stream:
        body = head + rule_set.rules + tail
        return Response(body, headers=headers, media_type="application/json")
    headers["Content-Length"] = str(len(head) + len(rule_set.rules) + len(tail))
    return StreamingResponse(
        _slices(head, rule_set.rules, tail), headers=headers, media_type="application/json"
    )
