"""Schemathesis, driven by `/v1/openapi.json`, every operation on its own, with every check it
has: every response documented (status, headers, content type, body schema), no 5xx,
schema-valid data accepted (but for the answers of stored state, tests/fuzz/checks.py), and
ours: every `/v1` error carries its request id and no response carries the caller's key. A
fixed seed (`derandomize`) and a bounded number of examples per operation
(`FORGE_FUZZ_EXAMPLES`, 15 here; `make fuzz` runs 300)."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings

from tests.factories import SecretsWorld
from tests.fuzz.checks import validation

EXAMPLES = int(os.environ.get("FORGE_FUZZ_EXAMPLES", "15"))


def _fuzz(operation: Any, secret: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed: the same cases run to run
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, **validation(secret))

    run()


def test_every_operation_answers_as_documented(fuzz_app: FastAPI, owner: SecretsWorld) -> None:
    # Driven by hand rather than by schemathesis' pytest plugin, which pytest 9 breaks.
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", fuzz_app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            _fuzz(operation, owner.owner.secret)
        except (Exception, BaseExceptionGroup) as err:  # every operation runs; all reported
            failures.append(f"{operation.label}: {err}")
    assert not failures, "\n\n".join(failures)
