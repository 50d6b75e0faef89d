"""Notifications between processes on PostgreSQL: LISTEN/NOTIFY behind the `Notifier` methods.

One connection listens on every Forge channel and hands what arrives to an in-process
`LocalHub`; a second one sends. `publish` only queues the message (it is called on the event
loop, which must not wait on a network round trip); a sender thread delivers it. A listener in
this process hears a local publish at once, and the copy PostgreSQL echoes back is skipped.
A connection that breaks is reopened after a second; what was published meanwhile is lost,
which costs a waiter its fallback poll, never correctness (notifications carry nothing).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from forge.notify import CHANNELS, Listener, LocalHub

log = logging.getLogger("forge.notify")

RECONNECT_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 2.0
_STOP = ("", "")


def libpq_url(database_url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy's spelling) as a plain libpq URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresNotifier:
    def __init__(self, database_url: str) -> None:
        self._url = libpq_url(database_url)
        self._hub = LocalHub()
        self._outbox: queue.Queue[tuple[str, str]] = queue.Queue()
        self._sender_pid: int | None = None
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def publish(self, channel: str, message: str = "") -> None:
        self.start()
        self._hub.publish(channel, message)
        self._outbox.put((channel, message))

    @contextmanager
    def listen(self, channel: str) -> Iterator[Listener]:
        self.start()
        with self._hub.listen(channel) as listener:
            yield listener

    def close(self) -> None:
        self._stopping.set()
        self._outbox.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=5)

    def start(self) -> None:
        """Open the connections (once); returns when LISTEN is in force, so nothing sent after
        it is missed, or after a few seconds with the database unreachable (then the waiters
        fall back on their polls until it is back)."""
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            for target in (self._listen_forever, self._send_forever):
                thread = threading.Thread(target=target, name=f"forge-{target.__name__}")
                thread.daemon = True
                thread.start()
                self._threads.append(thread)
            self._listening.wait(READY_TIMEOUT_SECONDS)
            self._started = True

    def _listen_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as connection:
                    for channel in CHANNELS:
                        connection.execute(f'LISTEN "{channel}"')
                    self._listening.set()
                    while not self._stopping.is_set():
                        for note in connection.notifies(timeout=0.5):
                            if note.pid != self._sender_pid:
                                self._hub.publish(note.channel, note.payload)
            except psycopg.Error:
                log.warning("notification listener lost its connection; reconnecting")
                self._stopping.wait(RECONNECT_SECONDS)

    def _send_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as connection:
                    self._sender_pid = connection.info.backend_pid
                    while True:
                        channel, message = self._outbox.get()
                        if (channel, message) == _STOP:
                            return
                        connection.execute("SELECT pg_notify(%s, %s)", (channel, message))
            except psycopg.Error:
                log.warning("notification sender lost its connection; reconnecting")
                self._stopping.wait(RECONNECT_SECONDS)
