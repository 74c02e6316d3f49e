"""SQLite's driver makes one trip to aiosqlite's thread per statement and none for a
transaction that was never opened (gql_users/db/sqlite_driver.py), while a transaction that
was opened is still rolled back or committed, and the driver's errors are what they were."""

from __future__ import annotations

import asyncio
import importlib.metadata
import pickle
import queue
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import Uuid, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gql_users.db import sqlite_driver
from gql_users.db.engine import create_engine, create_sessionmaker, execute_counting_rows
from gql_users.db.models import User
from gql_users.db.sqlite_driver import (
    READ_UUIDS_KEPT,
    WRITTEN_FOR,
    HexUuid,
    OneTripConnection,
    uuid_from_text,
)
from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import BACKEND, Factory
from tests.world import World

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's driver")

USERS_PAGE = """{ users(first: 50) { edges { node { uuid username permissions {
  role { name } scope { ... on Customer { uuid } ... on Project { uuid } } } } } } }"""


def test_the_driver_runs_on_the_versions_it_was_written_for() -> None:
    """sqlite_driver.py reaches into SQLAlchemy's aiosqlite adapter and aiosqlite itself."""
    for package, written_for in WRITTEN_FOR.items():
        installed = importlib.metadata.version(package)
        assert installed == written_for, (
            f"{package} is {installed}, but gql_users/db/sqlite_driver.py was written against "
            f"{written_for}: re-check the internals its docstring names "
            "(docs/architecture.md#the-sqlite-driver), run this file, then update WRITTEN_FOR"
        )


class Trips:
    """Every call queued for an aiosqlite connection's thread, by the name of its function."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def queue(self) -> type[queue.SimpleQueue[Any]]:
        calls = self.calls

        class CountingQueue(queue.SimpleQueue[Any]):
            def put_nowait(self, item: Any) -> None:
                function = item[1]
                calls.append(getattr(getattr(function, "func", function), "__name__", "?"))
                super().put_nowait(item)

        return CountingQueue

    def take(self) -> list[str]:
        taken = list(self.calls)
        self.calls.clear()
        return taken


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trips]:
    """Counts the trips of the aiosqlite connections opened from now on."""
    trips = Trips()
    monkeypatch.setattr(aiosqlite.core, "SimpleQueue", trips.queue())
    yield trips


@sqlite_only
@pytest.mark.parametrize("request_kind", ["rest page", "me", "graphql page"])
async def test_a_read_request_makes_one_trip_per_statement(
    trips: Trips,
    settings: Settings,
    aiohttp_client: Any,
    factory: Factory,
    world: World,
    request_kind: str,
) -> None:
    """No trip for the cursor, its rows or its close, and no ``ROLLBACK`` of a read that
    opened no transaction (twice before: the session's, then the pool's on return)."""
    client = await aiohttp_client(create_app(settings))
    headers = await factory.auth(world.staff)

    async def send() -> tuple[int, Any]:
        if request_kind == "graphql page":
            response = await client.post("/graphql", json={"query": USERS_PAGE}, headers=headers)
        else:
            path = "/api/users/?page_size=50" if request_kind == "rest page" else "/api/users/me/"
            response = await client.get(path, headers=headers)
        body = await response.json()
        assert response.status == 200 and "errors" not in body, body
        if isinstance(body, dict):
            body.pop("extensions", None)  # GraphQL's statement count, the first time with one more
        return int(response.headers["X-SQL-Count"]), body

    first = await send()  # connects, and GraphQL loads its cursor secret once
    trips.take()
    statements, body = await send()
    assert body == first[1]
    assert trips.take() == ["_run"] * statements
    assert statements >= 2


@sqlite_only
async def test_a_write_transaction_given_up_midway_is_rolled_back(
    trips: Trips, database_url: str, world: World
) -> None:
    """A session that wrote and then failed still sends its ``ROLLBACK``: the write is gone,
    the connection goes back to the pool clean, and the writers' turn is free again at once
    (a held turn would make the next write wait out the busy timeout and fail)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0, busy_timeout=0.5)
    sessions = create_sessionmaker(engine)
    rename = update(User).where(User.id == world.staff.id).values(first_name="Midway")
    try:
        with pytest.raises(RuntimeError, match="failed midway"):
            async with sessions() as session:
                assert await execute_counting_rows(session, rename) == 1
                trips.take()
                raise RuntimeError("failed midway")
        assert trips.take() == ["rollback"]
        async with sessions() as session:  # the pool's only connection, the same as before
            name = await session.scalar(select(User.first_name).where(User.id == world.staff.id))
            assert name == world.staff.first_name != "Midway"
            other = update(User).where(User.id == world.owner_a.id).values(first_name="Next")
            assert await execute_counting_rows(session, other) == 1
            await session.commit()
        assert trips.take() == ["_run", "_run", "commit"]
        async with sessions() as session:
            name = await session.scalar(select(User.first_name).where(User.id == world.owner_a.id))
            assert name == "Next"
    finally:
        await engine.dispose()


@sqlite_only
async def test_a_write_cancelled_while_in_the_driver_is_not_kept(
    database_url: str, world: World
) -> None:
    """A request given up (its client gone) while its write waits in the driver's thread for
    another process's lock: the connection is closed, not returned with the write's transaction
    open (no ``in_transaction`` is read while the thread still runs the statement), the
    write is undone and the next one proceeds."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0, busy_timeout=2.0)
    sessions = create_sessionmaker(engine)
    rename = update(User).where(User.id == world.staff.id).values(first_name="Cancelled")

    async def write() -> None:
        async with sessions() as session:
            await execute_counting_rows(session, rename)
            await session.commit()

    holder = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(write())
        await asyncio.sleep(0.3)  # the UPDATE is in the driver's thread, waiting for the lock
        task.cancel()
        await asyncio.sleep(0.05)
        holder.rollback()  # the thread's UPDATE now runs, in a transaction never committed
        with pytest.raises(asyncio.CancelledError):
            await task
        async with sessions() as session:
            name = await session.scalar(select(User.first_name).where(User.id == world.staff.id))
            assert name == world.staff.first_name != "Cancelled"
            other = update(User).where(User.id == world.owner_a.id).values(first_name="Next")
            assert await asyncio.wait_for(execute_counting_rows(session, other), 1.0) == 1
            await session.commit()
    finally:
        holder.close()
        await engine.dispose()


@sqlite_only
async def test_statements_bring_back_their_rows_counts_and_errors(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            inserted = await connection.execute(
                text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}, {"v": "c"}]
            )
            assert inserted.rowcount == 3
            one = await connection.execute(text("INSERT INTO t (v) VALUES ('d')"))
            assert one.lastrowid == 4
            changed = await connection.execute(text("UPDATE t SET v = 'x' WHERE id > 1"))
            assert changed.rowcount == 3
            rows = await connection.execute(text("SELECT id, v FROM t ORDER BY id"))
            assert list(rows.keys()) == ["id", "v"]
            assert rows.fetchone() == (1, "a")
            assert rows.fetchmany(2) == [(2, "x"), (3, "x")]
            assert rows.fetchall() == [(4, "x")]
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="no such table: missing"):
                await connection.execute(text("SELECT * FROM missing"))
    finally:
        await engine.dispose()


@sqlite_only
async def test_a_closed_driver_connection_is_invalidated_and_replaced(database_url: str) -> None:
    """aiosqlite's ValueError on a closed connection becomes the adapter's disconnect."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.dbapi_connection, OneTripConnection)
            await raw.driver_connection.close()
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(text("SELECT 1"))
            assert caught.value.connection_invalidated
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


def test_uuids_read_from_hex_are_those_uuid_makes() -> None:
    texts = [uuid.uuid4().hex for _ in range(200)] + ["0" * 32, "f" * 32, "ABCDEF" + "0" * 26]
    for text_ in texts:
        made, expected = uuid_from_text(text_), uuid.UUID(text_)
        assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
        assert made.hex == expected.hex and made.is_safe is expected.is_safe
        assert made.version == expected.version and str(made) == str(expected)
        assert pickle.loads(pickle.dumps(made)) == expected
        assert isinstance(made, uuid.UUID) and type(made) is uuid.UUID
    hyphenated = str(uuid.uuid4())
    assert uuid_from_text(hyphenated) == uuid.UUID(hyphenated)
    assert uuid_from_text(None) is None
    for bad in ["g" * 32, "-" + "1" * 31, "{" + "1" * 30 + "}", "1" * 31, ""]:
        with pytest.raises(ValueError):
            uuid.UUID(bad)
        with pytest.raises(ValueError):
            uuid_from_text(bad)


def test_a_uuid_read_again_is_the_same_object_and_few_are_kept() -> None:
    text_ = uuid.uuid4().hex
    first = uuid_from_text(text_)
    assert uuid_from_text(text_) is first and uuid_from_text(text_.upper()) == first
    for _ in range(READ_UUIDS_KEPT + 10):  # a flood of distinct uuids: the memory stays bounded
        uuid_from_text(uuid.uuid4().hex)
    assert len(sqlite_driver._READ) <= READ_UUIDS_KEPT  # noqa: SLF001
    assert uuid_from_text(text_) == first  # forgotten, read anew: the same value
    for bad in ["g" * 32, "1" * 31]:  # refused text is never kept
        with pytest.raises(ValueError):
            uuid_from_text(bad)
        assert bad not in sqlite_driver._READ  # noqa: SLF001


@sqlite_only
async def test_sqlite_engines_load_uuid_columns_through_hex_uuid(engine: Any, world: World) -> None:
    assert isinstance(engine.dialect.type_descriptor(Uuid()), HexUuid)
    async with engine.connect() as connection:
        loaded = await connection.scalar(select(User.uuid).where(User.id == world.staff.id))
        stored = await connection.scalar(
            text("SELECT uuid FROM users WHERE id = :id"), {"id": world.staff.id}
        )
    assert type(loaded) is uuid.UUID and loaded == world.staff.uuid and loaded.hex == stored
