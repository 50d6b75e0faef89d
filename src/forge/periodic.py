"""A background task that does one thing every few seconds while the app runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def every(
    seconds: float, tick: Callable[[], Awaitable[object]], log: logging.Logger, failure: str
) -> AsyncIterator[None]:
    """Run `tick` every `seconds` for the duration of the block, the first time after one
    interval. A tick that fails is logged (`failure`) and the next one tries again: a
    background chore never stops the process that runs it."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await tick()
            except Exception:
                log.exception(failure)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
