"""``publish``: record events in a session's transaction, delivered once it commits."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from gql_users.events.messages import CHANNEL, Event

PENDING = "gql_users_pending_events"
"""``Session.info`` key of the events a SQLite transaction will deliver on commit."""

Deliver = Callable[[Event], None]
_local_hubs: dict[str, set[Deliver]] = {}
"""Per SQLite file: the deliver functions of this process's hubs on it."""


def database_key(url: URL) -> str:
    """One name per SQLite file, however the URL spells its path."""
    return os.path.realpath(url.database or "")


def register_local(url: URL, deliver: Deliver) -> None:
    _local_hubs.setdefault(database_key(url), set()).add(deliver)


def unregister_local(url: URL, deliver: Deliver) -> None:
    _local_hubs.get(database_key(url), set()).discard(deliver)


async def publish(session: AsyncSession, *events: Event) -> None:
    """Record ``events`` in the session's current transaction: every listener hears them once
    it commits, and none if it rolls back. Call it before the commit."""
    if not events:
        return
    if session.get_bind().dialect.name == "postgresql":
        for item in events:
            await session.execute(select(func.pg_notify(CHANNEL, item.encode())))
    else:
        await session.connection()  # in a transaction, whose end delivers or drops them
        session.sync_session.info.setdefault(PENDING, []).extend(events)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    pending: list[Event] = session.info.pop(PENDING, [])
    if not pending:
        return
    bind: Any = session.get_bind()
    for deliver in tuple(_local_hubs.get(database_key(bind.engine.url), ())):
        for item in pending:
            deliver(item)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    """A rolled back transaction's events are never delivered (after a commit, the list is
    already gone)."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)
