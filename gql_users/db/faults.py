"""Which exceptions mean "the database is unavailable right now" (answered with 503).

A fault is transient and not the request's doing: the server cannot be reached or went away,
the connection pool stayed exhausted for the pool timeout, a statement ran into the
statement timeout, or SQLite stayed locked for the busy timeout. Everything else (a bad
statement, a constraint the code did not expect, a misconfigured URL or password) is a bug
or a deployment error and stays a 500. The rules: docs/hardening.md#database-faults.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from types import TracebackType

from sqlalchemy import exc as sa_exc

UNAVAILABLE = "The database is temporarily unavailable. Try again in a few seconds."
RETRY_AFTER_SECONDS = 5

# PostgreSQL SQLSTATEs: class 08 is "connection exception"; the rest are the server shutting
# down or starting up, a statement cancelled (statement_timeout) and too many connections.
TRANSIENT_SQLSTATE_CLASSES = ("08",)
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014", "53300"})
IN_FAILED_TRANSACTION = "25P02"  # "current transaction is aborted"
# SQLite primary result codes (the low byte of an extended code).
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
# Socket-level failures count only when the database driver raised them, so an unreachable
# mail server or identity provider is never mistaken for the database.
DRIVER_MODULES = ("asyncpg", "aiosqlite")


class DatabaseBusy(Exception):
    """A writer waited longer than the busy timeout for its turn (``engine.SQLiteWriters``)."""


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, the exceptions it wraps (``orig``) and those it was raised from."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending.extend(
            [
                current.__cause__,
                current.__context__,
                orig if isinstance(orig, BaseException) else None,
            ]
        )


def _raised_in_driver(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in DRIVER_MODULES:
            return True
        traceback = traceback.tb_next
    return False


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError | DatabaseBusy):  # pool timeout, writers' queue
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(TRANSIENT_SQLSTATE_CLASSES) or sqlstate in TRANSIENT_SQLSTATES
    if isinstance(error, OSError):  # refused, reset, timed out (TimeoutError is an OSError)
        return _raised_in_driver(error.__traceback__)
    return False


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is a transient database fault."""
    return any(_is_transient(link) for link in _chain(error))


def is_aftermath(error: BaseException) -> bool:
    """Whether ``error`` is what a transaction broken by an earlier error raises on its next
    statement: it is that earlier error's consequence, a fault when the earlier one was."""
    return any(
        isinstance(link, sa_exc.PendingRollbackError)
        or getattr(link, "sqlstate", None) == IN_FAILED_TRANSACTION
        for link in _chain(error)
    )
