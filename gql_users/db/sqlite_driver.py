"""SQLite through aiosqlite with one trip to the driver's thread per statement.

aiosqlite runs each sqlite3 call in the connection's own thread: the call is queued, the thread
wakes, and the answer is handed back to the event loop, which wakes in turn. SQLAlchemy's
adapter makes a trip for each DBAPI call of a statement (the cursor, ``execute``, ``fetchall``,
the cursor's ``close``), four per statement; and a request's session, at its end, rolls back
its transaction and then the pool rolls the connection back again on its return. A REST page
of three statements made fourteen trips, each costing both threads CPU time.

Here a statement is one trip (``OneTripCursor``: the cursor made, the statement run, its rows
fetched and the cursor closed by one function in the driver's thread), and a ``ROLLBACK`` or
``COMMIT`` is sent only when sqlite3 says a transaction is open (``Connection.in_transaction``,
which may be read from any thread): sqlite3's own ``rollback()`` and ``commit()`` do nothing
else when none is, so skipping the trip changes nothing. That same page makes three trips.
The engine's events (the statement counter, the writers' turns of ``engine.SQLiteWriters``,
whose turn passes on at the engine's rollback or commit whether or not a trip is made) and the
errors raised (sqlite3's, through the adapter's own error handling) are those of SQLAlchemy's
adapter; only the trips differ. Server-side cursors (``stream``) keep the adapter's own.

The uuids SQLite hands back, as the 32 hex digits SQLAlchemy stored, become ``UUID``s without
``UUID()``'s parsing of every other spelling (``HexUuid``): a GraphQL page of users with their
permissions reads about a thousand of them, which PostgreSQL's driver makes in C.

It is installed with ``create_async_engine(module=ONE_TRIP_DBAPI)``, SQLAlchemy's documented
way to give a dialect another DBAPI module, and ``with_hex_uuids`` on the dialect's ``colspecs``
(which SQLAlchemy reads from the instance when set there); the URL stays ``sqlite+aiosqlite``.
It reaches into SQLAlchemy 2.1.9's aiosqlite adapter (``AsyncAdapt_aiosqlite_dbapi``,
``AsyncAdapt_aiosqlite_connection`` and its ``_connection``, ``_cursor_cls`` and
``_handle_exception``; the ``_async_soft_close`` its asyncio results call on a cursor) and
aiosqlite 0.22.1's ``Connection`` (``_execute``, which queues a call for the thread, and
``_connection``, the sqlite3 connection). ``WRITTEN_FOR`` names those versions, and
tests/db/test_sqlite_driver.py fails on a bump until they are re-checked
(docs/architecture.md#the-sqlite-driver); it also compares ``uuid_from_text`` with ``UUID()``
on the running Python.
"""

from __future__ import annotations

import collections
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.types import TypeEngine, Uuid
from sqlalchemy.util import await_

WRITTEN_FOR = {"sqlalchemy": "2.1.9", "aiosqlite": "0.22.1"}

# What one trip brings back: the cursor's description, its rows, rowcount and lastrowid.
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In the driver's thread: one statement from cursor to close."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """A DBAPI cursor whose ``execute`` is one trip to the driver's thread; its rows are then
    held here, as SQLAlchemy's adapter holds them, and fetched without another trip."""

    __slots__ = ("_adapted", "_rows", "arraysize", "description", "lastrowid", "rowcount")
    server_side = False

    def __init__(self, adapted: OneTripConnection) -> None:
        self._adapted = adapted
        self._rows: collections.deque[Any] = collections.deque()
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def _trip(self, operation: str, parameters: Any, many: bool) -> None:
        driver = self._adapted._connection
        try:  # a closed connection's ValueError becomes the adapter's OperationalError
            outcome = await_(driver._execute(_run, driver._conn, operation, parameters, many))
        except Exception as error:
            self._adapted._handle_exception(error)
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._trip(operation, parameters, many=False)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        self._trip(operation, seq_of_parameters, many=True)

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [
            rows.popleft() for _ in range(min(self.arraysize if size is None else size, len(rows)))
        ]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:  # the sqlite3 cursor was closed in the thread
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """What SQLAlchemy's asyncio results call on a buffered cursor: here nothing is left
        open in the driver to close."""

    def __iter__(self) -> Any:
        while self._rows:
            yield self._rows.popleft()

    def __enter__(self) -> OneTripCursor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection with ``OneTripCursor`` and no empty transaction ends."""

    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def _in_transaction(self) -> bool:
        sqlite = self._connection._connection
        return sqlite is not None and sqlite.in_transaction

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI module of SQLAlchemy's adapter, connecting ``OneTripConnection``s."""

    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        return OneTripConnection(self, super().connect(*args, **kwargs)._connection)


ONE_TRIP_DBAPI = OneTripDBAPI(aiosqlite, sqlite3)


_new_object = object.__new__
_set_slot = object.__setattr__
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown


_READ: dict[str, uuid.UUID] = {}
READ_UUIDS_KEPT = 8192
"""How many uuids ``uuid_from_text`` keeps read (by their text), about 1.5 MB at most."""


def uuid_from_text(text: str | None) -> uuid.UUID | None:
    """A stored uuid as ``uuid.UUID(text)`` gives it. 32 characters with no hyphen (what
    SQLAlchemy writes: ``UUID.hex``) are read as one hex number and set as ``UUID.__init__``
    and unpickling set it, without ``__init__``'s search for braces, prefixes and hyphens
    (twice as fast); any other text goes through ``UUID`` itself. For 32 characters without a
    hyphen ``UUID()`` removes nothing and reads the same number, so the two agree, and both
    refuse what is not hex (tests/db/test_sqlite_driver.py compares them).

    The last ``READ_UUIDS_KEPT`` uuids read are kept by their text and handed out again (a
    ``UUID`` is immutable): the rows of a page repeat the uuids of the same roles, projects,
    customers and creators, and the next page the same users'."""
    if text is None:
        return None
    value = _READ.get(text)
    if value is not None:
        return value
    if len(text) != 32 or "-" in text:
        value = uuid.UUID(text)
    else:
        value = _new_object(uuid.UUID)
        _set_slot(value, "int", int(text, 16))
        _set_slot(value, "is_safe", _UNKNOWN_SAFETY)
    if len(_READ) >= READ_UUIDS_KEPT:
        _READ.clear()
    _READ[text] = value
    return value


class HexUuid(Uuid[Any]):
    """SQLAlchemy's ``Uuid`` on SQLite, whose values are loaded by ``uuid_from_text``."""

    def result_processor(self, dialect: Any, coltype: object) -> Callable[[Any], Any] | None:
        if self.as_uuid and not (self.native_uuid and dialect.supports_native_uuid):
            return uuid_from_text
        return super().result_processor(dialect, coltype)


def with_hex_uuids(
    colspecs: Mapping[type[TypeEngine[Any]], type[TypeEngine[Any]]],
) -> dict[type[TypeEngine[Any]], type[TypeEngine[Any]]]:
    """A SQLite dialect's ``colspecs`` with ``HexUuid`` for SQLAlchemy's ``Uuid``."""
    return {**colspecs, Uuid: HexUuid}
