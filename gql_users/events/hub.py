"""A process's hub: fans the events of one database out to this process's subscribers.

On PostgreSQL the hub holds one listening connection (asyncpg, outside the request pool), opened
when the first subscriber arrives. It checks the connection every ``KEEPALIVE`` seconds and
reconnects, backing off, when the database goes away; once it is back, every subscriber is told
that events may have been missed (``GAP``), since PostgreSQL keeps no notification for a
listener that was not connected. On SQLite the hub receives the events that this process's
sessions commit (``gql_users.events.publish``).

A subscriber that does not keep up (``queue_size`` events waiting) is told ``OVERFLOW`` and
receives nothing more: the hub never waits for a subscriber, nor keeps events without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from gql_users.events.messages import CHANNEL, Event
from gql_users.events.publish import register_local, unregister_local

log = logging.getLogger("gql_users.events")

KEEPALIVE = 5.0
"""Seconds between checks that the listening connection is alive."""
CONNECT_TIMEOUT = 5.0
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
READY_TIMEOUT = 5.0
"""How long a new subscriber waits for the listening connection before it proceeds anyway."""
QUEUE_SIZE = 256


class Notice(enum.Enum):
    GAP = "gap"
    """Events may have been missed (the listening connection was lost and is back)."""
    OVERFLOW = "overflow"
    """The subscriber fell behind; nothing more comes."""


class Subscription:
    """One subscriber's queue of events and notices."""

    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[Event | Notice] = asyncio.Queue(queue_size)
        self.overflowed = False

    def put(self, item: Event | Notice) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(Notice.OVERFLOW)

    async def get(self) -> Event | Notice:
        return await self.queue.get()


class Hub:
    def __init__(self, database_url: str, *, queue_size: int = QUEUE_SIZE) -> None:
        self.url = make_url(database_url)
        self.queue_size = queue_size
        self.subscriptions: set[Subscription] = set()
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._registered = False

    @property
    def postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A new subscription, live for the block; the first one starts the hub."""
        await self.start()
        subscription = Subscription(self.queue_size)
        self.subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self.subscriptions.discard(subscription)

    async def start(self) -> None:
        if not self.postgresql:
            if not self._registered:
                register_local(self.url, self.deliver)
                self._registered = True
            return
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="gql-users events listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), READY_TIMEOUT)

    async def close(self) -> None:
        if self._registered:
            unregister_local(self.url, self.deliver)
            self._registered = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def deliver(self, item: Event | Notice) -> None:
        for subscription in tuple(self.subscriptions):
            subscription.put(item)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        event = Event.decode(payload)
        if event is not None:
            self.deliver(event)

    async def _listen(self) -> None:
        dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        attempt = 0
        connected_before = False
        while True:
            try:
                connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, asyncpg.PostgresError) as error:
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.warning(
                    "events: cannot listen (%s); retrying in %.2fs", type(error).__name__, delay
                )
                await asyncio.sleep(delay)
                continue
            attempt = 0
            try:
                await self._hold(connection, announce_gap=connected_before)
                connected_before = True
            finally:
                self.listening.clear()
                connection.terminate()

    async def _hold(self, connection: asyncpg.Connection, *, announce_gap: bool) -> None:
        """Listen on ``connection`` until it fails."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._on_notification)
            self.listening.set()
            if announce_gap:
                log.info("events: listening again")
                self.deliver(Notice.GAP)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE)
                    break
                await connection.execute("SELECT 1", timeout=CONNECT_TIMEOUT)
            log.warning("events: listening connection lost (closed by the server)")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("events: listening connection lost (%s)", type(error).__name__)
