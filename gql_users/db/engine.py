"""Engine and session factory, SQLite pragmas, and the per-request SQL statement counter."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Delete, Update, event
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_

from gql_users.db.faults import DatabaseBusy
from gql_users.db.search import detect_search_table
from gql_users.db.sqlite_driver import ONE_TRIP_DBAPI, with_hex_uuids

# Defaults for engines made outside the server (the CLI, migrations, tests); the server passes
# its GQL_USERS_DATABASE_* settings. Seconds; docs/hardening.md#database-faults.
POOL_SIZE = 10
MAX_OVERFLOW = 10
POOL_TIMEOUT = 3.0
BUSY_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
# asyncpg's own client-side limit: a backstop for a server that stops answering altogether,
# beyond the server-side statement_timeout so that the server's cancellation comes first.
COMMAND_TIMEOUT_MARGIN = 5.0


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


def _sqlite_pragmas(busy_timeout: float) -> Callable[[Any, Any], None]:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return apply


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
HOLDS_WRITE_TURN = "gql_users_holds_write_turn"


class SQLiteWriters:
    """The writers of one process take turns on a SQLite file in arrival order.

    SQLite lets one writer at a time hold the file's lock, and a writer that finds it taken
    sleeps and polls (up to 100 ms apart) until the busy timeout: under load a newcomer often
    takes the lock between two polls, so an unlucky writer can wait out the whole timeout
    while the others get through. Here a transaction's first write statement waits for its
    turn on an asyncio lock, first come first served, and the turn passes on at commit or
    rollback, so the wait is the queue ahead, bounded by the busy timeout
    (docs/hardening.md#database-faults). Other processes still meet SQLite's own lock.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.lock = asyncio.Lock()

    def before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(HOLDS_WRITE_TURN) or not statement.lstrip().upper().startswith(WRITES):
            return
        try:
            await_(asyncio.wait_for(self.lock.acquire(), self.timeout))
        except TimeoutError:
            raise DatabaseBusy("waited too long for the SQLite write lock") from None
        conn.info[HOLDS_WRITE_TURN] = True

    def end_transaction(self, conn: Any) -> None:
        if not conn.invalidated:  # an invalidated connection's turn passed on at "invalidate"
            self.release(conn.info)

    def returned(self, _dbapi_connection: Any, record: Any, *_args: Any) -> None:
        """Checked in or invalidated: a turn never outlives its connection's use."""
        if record is not None:
            self.release(record.info)

    def release(self, info: dict[Any, Any]) -> None:
        if info.pop(HOLDS_WRITE_TURN, False):
            self.lock.release()

    def listen(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self.before_execute)
        event.listen(engine.sync_engine, "commit", self.end_transaction)
        event.listen(engine.sync_engine, "rollback", self.end_transaction)
        event.listen(engine.sync_engine, "checkin", self.returned)
        event.listen(engine.sync_engine, "invalidate", self.returned)


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
    pool_timeout: float = POOL_TIMEOUT,
    statement_timeout: float = 0.0,
    busy_timeout: float = BUSY_TIMEOUT,
) -> AsyncEngine:
    """Create the async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    The timeouts (seconds) bound how long a request waits for the database before it is
    answered with 503: ``pool_timeout`` for a free connection, ``statement_timeout`` for one
    PostgreSQL statement (0 for none), ``busy_timeout`` for a SQLite lock.
    """
    parsed = make_url(url)
    # hide_parameters: statement parameters (password hashes, token keys) never reach a log.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        kwargs["connect_args"] = {"timeout": busy_timeout}
        if parsed.get_driver_name() == "aiosqlite":  # one trip to its thread per statement
            kwargs["module"] = ONE_TRIP_DBAPI
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
        else:  # one file, many readers: a pool of connections keeps WAL readers concurrent
            kwargs.update(pool)
    else:
        # No pre-ping: a connection that fails with a disconnect invalidates the whole pool,
        # so the first request after the server's return reconnects.
        kwargs.update(pool, pool_pre_ping=False)
        connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT}
        if statement_timeout > 0:
            connect_args["server_settings"] = {
                "statement_timeout": str(int(statement_timeout * 1000))
            }
            connect_args["command_timeout"] = statement_timeout + COMMAND_TIMEOUT_MARGIN
        kwargs["connect_args"] = connect_args
    engine = create_async_engine(parsed, **kwargs)
    if sqlite:
        engine.dialect.colspecs = with_hex_uuids(engine.dialect.colspecs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout))
        event.listen(engine.sync_engine, "first_connect", detect_search_table(engine.dialect))
        SQLiteWriters(busy_timeout).listen(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", _on_execute)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that read (and at most commit the sliding refresh of their token).

    On PostgreSQL their statements run in autocommit mode: no ``BEGIN`` before the first and no
    ``ROLLBACK`` at the end, two round trips fewer per request, while each statement sees what
    it would have seen in a transaction (READ COMMITTED gives every statement its own snapshot).
    Elsewhere they are ``create_sessionmaker``'s.
    """
    if engine.dialect.name != "postgresql":
        return create_sessionmaker(engine)
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


async def execute_counting_rows(session: AsyncSession, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE (no RETURNING) in ``session``; how many rows it matched.

    ``AsyncSession.execute`` is typed as returning a plain ``Result`` for every statement, while
    for DML without RETURNING it returns a ``CursorResult``, the class that has ``rowcount``.
    SQLAlchemy offers no typed form of this on a session (only ``AsyncConnection.execute``,
    which would bypass the ORM), hence the one cast.
    """
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount


def normalize_database_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith("postgresql:") or url.startswith("postgres:"):
        return "postgresql+asyncpg:" + url.split(":", 1)[1]
    return url
