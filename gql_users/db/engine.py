"""Engine and session factory, SQLite pragmas, and the per-request SQL statement counter."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_MS = 5000


class SQLCounter:
    """Counts the statements executed while it is the current counter."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_current_counter: contextvars.ContextVar[SQLCounter | None] = contextvars.ContextVar(
    "gql_users_sql_counter", default=None
)


@contextmanager
def count_sql() -> Iterator[SQLCounter]:
    """Count the SQL statements run inside the block (by this task and the tasks it starts)."""
    counter = SQLCounter()
    reset = _current_counter.set(counter)
    try:
        yield counter
    finally:
        _current_counter.reset(reset)


def _on_execute(*_args: Any) -> None:
    counter = _current_counter.get()
    if counter is not None:
        counter.count += 1


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``)."""
    parsed = make_url(url)
    # hide_parameters: statement parameters (password hashes, token keys) never reach a log.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        # One file, many readers; a small pool of connections keeps WAL readers concurrent.
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=False, pool_timeout=10)
        kwargs["connect_args"] = {"timeout": 5, "command_timeout": 30}
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "before_cursor_execute", _on_execute)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def normalize_database_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith("postgresql:") or url.startswith("postgres:"):
        return "postgresql+asyncpg:" + url.split(":", 1)[1]
    return url
