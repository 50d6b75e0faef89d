"""The background chores' loop: a failing tick is logged and the next one still runs."""

from __future__ import annotations

import asyncio
import logging

import pytest

from forge import periodic


def test_a_failing_tick_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    ticks: list[int] = []

    async def scenario() -> list[int]:
        second = asyncio.Event()

        async def tick() -> None:
            ticks.append(len(ticks) + 1)
            if len(ticks) == 1:
                raise RuntimeError("the database is away")
            second.set()

        async with periodic.every(0, tick, logging.getLogger("tests.periodic"), "tick failed"):
            await asyncio.wait_for(second.wait(), timeout=10)
        return ticks

    assert asyncio.run(scenario())[:2] == [1, 2]
    (failure,) = [r for r in caplog.records if r.name == "tests.periodic"]
    assert failure.getMessage() == "tick failed"
    assert failure.exc_info is not None and "the database is away" in str(failure.exc_info[1])


def test_leaving_the_block_stops_the_ticks() -> None:
    ticks: list[None] = []

    async def scenario() -> int:
        first = asyncio.Event()

        async def tick() -> None:
            ticks.append(None)
            first.set()

        async with periodic.every(0, tick, logging.getLogger("tests.periodic"), "tick failed"):
            await asyncio.wait_for(first.wait(), timeout=10)
        stopped_at = len(ticks)
        for _ in range(10):
            await asyncio.sleep(0)
        return stopped_at

    assert asyncio.run(scenario()) == len(ticks)
