"""The in-process hub: a listener registered before a change hears it, from any thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import text

from forge.db import Database
from forge.notify import LocalHub, publish_after_commit
from forge.notify_pg import PostgresNotifier
from tests.conftest import BACKEND


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


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY: the PostgreSQL pass")
def test_postgresql_carries_a_message_between_notifiers_and_not_twice_within_one(
    database_url: str,
) -> None:
    async def scenario() -> tuple[bool, list[str], list[str]]:
        here, there = PostgresNotifier(database_url), PostgresNotifier(database_url)
        try:
            with here.listen("job.finished") as heard_here, there.listen("job.finished") as far:
                here.publish("job.finished", "job_1")
                woken = await far.wait(10)
                assert await heard_here.wait(10)
                # The copy PostgreSQL echoes back to `here` is skipped: no second delivery.
                await far.wait(0.5)
                return woken, far.messages, heard_here.messages
        finally:
            here.close()
            there.close()

    assert asyncio.run(scenario()) == (True, ["job_1"], ["job_1"])


def test_notifications_published_in_a_transaction_wait_for_its_commit(database: Database) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        hub = LocalHub()
        with hub.listen("edge.config_changed") as listener:
            with database.sessions() as session:
                session.execute(text("SELECT 1"))
                publish_after_commit(session, hub, "edge.config_changed", "rolled-back")
                session.rollback()
                session.execute(text("SELECT 1"))
                publish_after_commit(session, hub, "edge.config_changed", "committed")
                await asyncio.sleep(0)
                before = list(listener.messages)
                session.commit()
            await listener.wait(5)
            return before, listener.messages

    assert asyncio.run(scenario()) == ([], ["committed"])
