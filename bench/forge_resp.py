"""`forge`, but with the rate limiter's Redis script on the hand-written RESP client
(`resp_baseline.py`): the baseline arm of `bench/ratelimit_clients.py`.
Run as `python bench/forge_resp.py serve …` (the arguments are `forge`'s)."""

from __future__ import annotations

import functools

from forge.cli.main import app
from forge.ratelimit import backends, service
from resp_baseline import ScriptClient

service.RedisBackend = functools.partial(  # type: ignore[misc]
    backends.RedisBackend, script=ScriptClient
)

if __name__ == "__main__":
    app()
