"""The in-process hub: a listener registered before a change hears it, from any thread."""

from __future__ import annotations

import asyncio
import threading

from forge.notify import LocalHub


def test_a_message_published_from_another_thread_wakes_the_listener() -> None:
    async def scenario() -> tuple[bool, list[str], bool]:
        hub = LocalHub()
        with hub.listen("job.finished") as listener:
            threading.Thread(target=hub.publish, args=("job.finished", "job_1")).start()
            woken = await listener.wait(5)
            again = await listener.wait(0.01)
        return woken, listener.messages, again

    assert asyncio.run(scenario()) == (True, ["job_1"], False)


def test_a_message_published_between_registering_and_waiting_is_not_missed() -> None:
    async def scenario() -> bool:
        hub = LocalHub()
        with hub.listen("cache.purge_appended") as listener:
            hub.publish("cache.purge_appended")
            return await listener.wait(5)

    assert asyncio.run(scenario()) is True


def test_other_channels_and_closed_listeners_hear_nothing() -> None:
    async def scenario() -> tuple[bool, int]:
        hub = LocalHub()
        with hub.listen("a") as listener:
            hub.publish("b")
            woken = await listener.wait(0.01)
        hub.publish("a")
        return woken, len(listener.messages)

    assert asyncio.run(scenario()) == (False, 0)
