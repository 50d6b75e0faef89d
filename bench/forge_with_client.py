"""`forge`, with the rate limiter's Redis script on another client: the comparison arms of
`bench/ratelimit_clients.py`. Run as `python bench/forge_with_client.py CLIENT serve …`, CLIENT
one of `CLIENTS` (the other arguments are `forge`'s)."""

from __future__ import annotations

import functools
import sys

from forge.cli.main import app
from forge.ratelimit import backends, service
from redis_clients import CLIENTS

if __name__ == "__main__":
    client = CLIENTS[sys.argv.pop(1)]
    service.RedisBackend = functools.partial(  # type: ignore[misc]
        backends.RedisBackend, script=client
    )
    app()
