"""The stateful campaign: schemathesis' state machine over `/v1/openapi.json`. Its transitions
are the links schemathesis infers from the document (a create's `id` feeds the routes that
take it: a site created, then its environments, their secrets, redirects, deployments; a key
created, then read, patched, rolled, revoked), so a scenario reaches the routes behind real
resources, which the stateless campaign only meets as 404s. The same checks as that campaign
(tests/fuzz/checks.py). Bounded: `FORGE_FUZZ_SCENARIOS` scenarios (8 here, 200 in `make
fuzz`) of at most `FORGE_FUZZ_STEPS` steps (8 here, 20 in `make fuzz`), a fixed seed.

Each scenario starts from an empty database and a fresh owner: Hypothesis replays a scenario's
choices to explore around it, and what a step answers (and so which steps follow) must not
depend on what earlier scenarios left behind."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode

from forge.db import Database
from tests.factories import SecretsWorld, World, empty_tables
from tests.fuzz.checks import validation

SCENARIOS = int(os.environ.get("FORGE_FUZZ_SCENARIOS", "8"))
STEPS = int(os.environ.get("FORGE_FUZZ_STEPS", "8"))


def test_scenarios_of_linked_operations_answer_as_documented(
    fuzz_app: FastAPI, database: Database
) -> None:
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", fuzz_app)
    # Schema-valid requests only, as in the stateless campaign: a negative case may drop the
    # Authorization header, which every step here sends regardless.
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    base: Any = schema.as_state_machine()

    class Scenarios(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            empty_tables(database)
            world = World(database)
            owner = SecretsWorld.make(world)
            self.secret, self.caller = owner.owner.secret, owner.owner.id
            self.stand_in = world.owner_key(owner.team).id

        def before_call(self, case: Any) -> None:
            # The caller's own key is kept out of reach (a scenario finds its id in `GET
            # /v1/api-keys`): a roll, patch or revoke of it would make every later step a 401
            # or 403. Another key of the same owner takes those steps instead.
            if (case.path_parameters or {}).get("id") == self.caller:
                case.path_parameters["id"] = self.stand_in

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {self.secret}"}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response, transport_kwargs=kwargs or None, **validation(self.secret)
            )

    Scenarios.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
    )
