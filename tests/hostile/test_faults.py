"""Database faults against live servers (docs/hardening.md#database-faults): every answer
while the database cannot serve is a quick 503 with ``Retry-After`` (REST and GraphQL), the
service recovers by itself, and a killed server loses no acknowledged write."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from gql_users.db.engine import create_engine, create_sessionmaker
from gql_users.db.faults import UNAVAILABLE, is_database_unavailable
from gql_users.db.migrate import migrate
from gql_users.db.models import User
from tests.conftest import BACKEND, Factory
from tests.hostile.conftest import StartServer
from tests.hostile.load_traffic import Answer, Traffic, missing_writes
from tests.live_server import LiveServer
from tests.pgserver import PostgresServer, free_port

LOGIN = 'mutation { login(username: "nobody", password: "x") { token } }'
RECOVERY = 2.0  # seconds within which requests succeed again once the database is back


def assert_unavailable(answer: Answer) -> None:
    """A 503 in the documented shape: REST's detail, or GraphQL's SERVICE_UNAVAILABLE."""
    assert answer.status == 503, (answer.operation, answer.status, answer.body)
    assert answer.headers.get("Retry-After", "").isdigit()
    headers = {name.lower(): value for name, value in answer.headers.items()}
    assert re.fullmatch(r"[0-9a-f]{32}", headers.get("x-request-id", ""))
    if answer.operation == "graphql":
        assert answer.graphql_codes and set(answer.graphql_codes) == {"SERVICE_UNAVAILABLE"}
        assert answer.body["errors"][0]["message"] == UNAVAILABLE
    else:
        assert answer.body == {"detail": UNAVAILABLE}


# --- PostgreSQL stopped under load ---------------------------------------------------------


class StoppablePostgres(PostgresServer):
    """The suite's throwaway server, which this test alone stops and starts again."""

    def halt(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        # start() passed these on the command line; written down, a plain start reuses them.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.tmp}'\n"
            )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "log"), "-w", "start")


@pytest.fixture
def own_postgres() -> Iterator[tuple[StoppablePostgres, str]]:
    if BACKEND != "postgresql":
        pytest.skip("stops a PostgreSQL server: the PostgreSQL leg only")
    server = StoppablePostgres()
    try:
        yield server, server.start()
    finally:
        server.stop()


@pytest.fixture
async def own_factory(own_postgres: tuple[StoppablePostgres, str]) -> AsyncIterator[Factory]:
    engine = create_engine(own_postgres[1])
    await migrate(engine)
    async with create_sessionmaker(engine)() as session:
        yield Factory(session)
    await engine.dispose()


async def test_postgresql_stopped_under_load_answers_503_then_recovers(
    own_postgres: tuple[StoppablePostgres, str],
    own_factory: Factory,
    tmp_path: Path,
    http: aiohttp.ClientSession,
) -> None:
    postgres, url = own_postgres
    server = LiveServer(tmp_path, database_url=url)
    server.start()
    try:
        staff = await own_factory.user("outagestaff", is_staff=True)
        targets = [(await own_factory.user(f"target{i}")).uuid.hex for i in range(4)]
        traffic = Traffic(http, server.base_url, await own_factory.auth(staff), targets)
        await own_factory.session.close()  # the test's own connection must not matter
        load = asyncio.create_task(traffic.run(clients=4, seconds=9, pause=0.02))
        await asyncio.sleep(2)
        await asyncio.to_thread(postgres.halt)
        down_at = time.monotonic()
        await asyncio.sleep(3)
        health = await timed(http, "GET", f"{server.base_url}/health")
        up_from = time.monotonic()
        await asyncio.to_thread(postgres.resume)
        up_at = time.monotonic()
        await load
    finally:
        server.stop()

    print(traffic.summary("outage"))
    log = server.log_path.read_text(errors="replace")
    assert "database unavailable" in log and "Traceback" not in log  # warnings, not bugs
    assert health.status == 503 and health.headers["Retry-After"].isdigit()
    answers = traffic.answers
    assert not [a for a in answers if a.status == 0 or (a.status >= 500 and a.status != 503)]
    outage = [a for a in answers if a.started >= down_at and a.finished <= up_from]
    assert len(outage) >= 20
    for answer in outage:
        assert_unavailable(answer)
    assert {a.operation for a in outage} >= {"list", "me", "graphql", "patch", "create"}
    for answer in answers:
        if answer.status == 503:
            assert_unavailable(answer)
    back = [a for a in answers if a.started >= up_at]
    assert any(200 <= a.status < 300 and a.finished <= up_at + RECOVERY for a in back)
    later = [a for a in back if a.started >= up_at + RECOVERY]
    assert later and all(200 <= a.status < 300 for a in later), later[:3]


async def test_the_graph_routes_answer_503_while_postgresql_is_down_and_lose_no_grant(
    own_postgres: tuple[StoppablePostgres, str],
    own_factory: Factory,
    tmp_path: Path,
    http: aiohttp.ClientSession,
) -> None:
    """Customers, projects and role grants, through REST and GraphQL, while the database is
    stopped: each is the documented 503; once it is back, the refused grant can be made, and
    exactly once."""
    postgres, url = own_postgres
    staff = await own_factory.user("graphstaff", is_staff=True)
    member = await own_factory.user("graphmember")
    customer = await own_factory.customer("Outage customer")
    project = await own_factory.project(customer, "Outage project")
    auth = await own_factory.auth(staff)
    await own_factory.session.close()
    server = LiveServer(tmp_path, database_url=url)
    server.start()
    base = server.base_url
    grant = {"role": "PROJECT.MEMBER", "user": member.uuid.hex}
    add_user = f"{base}/api/projects/{project.uuid.hex}/add_user/"
    grant_mutation = {
        "query": "mutation ($input: RoleGrantInput!) { grantRole(input: $input) "
        "{ permission { roleName } } }",
        "variables": {
            "input": {
                "scopeType": "PROJECT",
                "scopeUuid": project.uuid.hex,
                "role": "PROJECT.ADMIN",
                "user": member.uuid.hex,
            }
        },
    }
    try:
        await asyncio.to_thread(postgres.halt)
        answers = [
            await timed(http, "GET", f"{base}/api/customers/", headers=auth),
            await timed(http, "POST", f"{base}/api/customers/", headers=auth, json={"name": "N"}),
            await timed(http, "GET", f"{base}/api/projects/{project.uuid.hex}/", headers=auth),
            await timed(http, "POST", add_user, headers=auth, json=grant),
            await timed(
                http, "POST", f"{base}/graphql", headers=auth,
                json={"query": "{ customers(first: 5) { edges { node { name } } } }"},
            ),
            await timed(
                http, "POST", f"{base}/graphql", headers=auth, json=grant_mutation
            ),
        ]  # fmt: skip
        await asyncio.to_thread(postgres.resume)
        for answer in answers:
            assert_unavailable(answer)
        deadline = time.monotonic() + RECOVERY
        while True:
            granted = await timed(http, "POST", add_user, headers=auth, json=grant)
            if granted.status != 503 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert granted.status == 201, granted.body
        again = await timed(http, "POST", add_user, headers=auth, json=grant)
        assert again.status == 400, again.body
        team = await timed(
            http, "GET", f"{base}/api/projects/{project.uuid.hex}/list_users/", headers=auth
        )
    finally:
        server.stop()
    assert team.status == 200
    assert [entry["role_name"] for entry in team.body] == ["PROJECT.MEMBER"]
    assert "Traceback" not in server.log_path.read_text(errors="replace")


# --- Pool exhausted, statement and lock timeouts -------------------------------------------

FAST = {
    "GQL_USERS_DATABASE_POOL_SIZE": "1",
    "GQL_USERS_DATABASE_MAX_OVERFLOW": "0",
    "GQL_USERS_DATABASE_POOL_TIMEOUT": "1",
    "GQL_USERS_DATABASE_STATEMENT_TIMEOUT": "3",
    "GQL_USERS_DATABASE_BUSY_TIMEOUT": "3",
}


class TableLock:
    """Blocks the server's use of the users table from another connection: an exclusive
    lock on PostgreSQL, the write lock of the file on SQLite."""

    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url)
        self.sqlite: sqlite3.Connection | None = None
        self.release: asyncio.Event = asyncio.Event()
        self.held: asyncio.Event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _hold_postgres(self) -> None:
        engine = create_engine(self.url.render_as_string(hide_password=False))
        try:
            async with engine.begin() as connection:
                await connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
                self.held.set()
                await self.release.wait()
        finally:
            await engine.dispose()

    async def __aenter__(self) -> TableLock:
        if self.url.get_backend_name() == "sqlite":
            self.sqlite = sqlite3.connect(str(self.url.database), isolation_level=None)
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            self.task = asyncio.create_task(self._hold_postgres())
            await asyncio.wait_for(self.held.wait(), 10)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.sqlite is not None:
            self.sqlite.rollback()
            self.sqlite.close()
        self.release.set()
        if self.task is not None:
            await self.task


async def timed(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Answer:
    started = time.monotonic()
    async with http.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None)
        operation = "graphql" if url.endswith("/graphql") else method
        return Answer(
            operation, response.status, started, time.monotonic(), dict(response.headers), body
        )


async def test_an_exhausted_pool_and_a_held_lock_answer_503_fast(
    start_server: StartServer,
    http: aiohttp.ClientSession,
    factory: Factory,
    database_url: str,
) -> None:
    live = start_server("fast", FAST)
    staff = await factory.user("poolstaff", is_staff=True)
    target = await factory.user("target", job_title="before")
    auth = await factory.auth(staff)
    await factory.session.close()
    base = live.base_url
    patch_url = f"{base}/api/users/{target.uuid.hex}/"

    async with TableLock(database_url):
        # The write waits for the lock on the one pooled connection...
        blocked = asyncio.create_task(
            timed(http, "PATCH", patch_url, json={"job_title": "after"}, headers=auth)
        )
        await asyncio.sleep(0.5)
        # ... so every other request waits for the pool, and gives up after its timeout.
        waiting = await asyncio.gather(
            timed(http, "GET", f"{base}/api/users/me/", headers=auth),
            timed(
                http, "POST", f"{base}/graphql", json={"query": "{ me { username } }"}, headers=auth
            ),
            timed(http, "POST", f"{base}/graphql", json={"query": LOGIN}),
        )
        for answer in waiting:
            assert_unavailable(answer)
            assert answer.latency < 2.5
        # The write itself gives up at the statement (or lock) timeout.
        patched = await blocked
        assert_unavailable(patched)
        assert patched.latency < 6

    recovered = await timed(http, "GET", f"{base}/api/users/me/", headers=auth)
    assert recovered.status == 200
    assert recovered.latency < RECOVERY
    stored = await factory.session.scalar(
        select(User.job_title).where(User.id == target.id).execution_options(populate_existing=True)
    )
    assert stored == "before"  # the refused write changed nothing
    again = await timed(http, "PATCH", patch_url, json={"job_title": "after"}, headers=auth)
    assert again.status == 200 and again.latency < RECOVERY  # and left no lock behind


# --- kill -9 under write load ----------------------------------------------------------------


async def test_a_killed_server_loses_no_acknowledged_write(
    start_server: StartServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    first = start_server("killed")
    staff = await factory.user("killstaff", is_staff=True)
    targets = [(await factory.user(f"target{i}")).uuid.hex for i in range(4)]
    auth = await factory.auth(staff)
    traffic = Traffic(http, first.base_url, auth, targets, prefix="crash")
    load = asyncio.create_task(traffic.run(clients=6, seconds=2.3, pause=0.01))
    await asyncio.sleep(2)
    assert first.process is not None
    first.process.kill()  # SIGKILL: no shutdown, no flush
    first.process.wait()
    await load

    print(traffic.summary("kill -9"))
    assert traffic.created, "no write was acknowledged before the kill"
    assert any(answer.status == 0 for answer in traffic.answers)  # the kill cut requests off
    assert not [a for a in traffic.answers if a.status >= 500]
    assert await missing_writes(factory.session, traffic, exact=False) == []

    second = start_server("restarted")
    answer = await timed(http, "GET", f"{second.base_url}/api/users/?page_size=1", headers=auth)
    assert answer.status == 200


# --- Only faults are faults ------------------------------------------------------------------


async def raised(awaitable: Any) -> BaseException:
    try:
        await awaitable
    except Exception as error:  # the error under test, whatever its type
        return error
    raise AssertionError("nothing was raised")


async def test_only_database_faults_are_unavailability(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Real errors of each kind: bugs and other services' failures stay 500s."""
    path = tmp_path / "faults.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout=0.2, pool_timeout=0.2)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))

        async def run(statement: str) -> None:
            async with engine.begin() as connection:
                await connection.execute(text(statement))

        duplicate = await raised(run("INSERT INTO t VALUES (1)"))
        no_table = await raised(run("SELECT * FROM missing"))
        syntax = await raised(run("SELEC 1"))
        closed = await raised(http.get(f"http://127.0.0.1:{free_port()}/"))  # not the database
        holder = sqlite3.connect(str(path), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            locked = await raised(run("INSERT INTO t VALUES (2)"))
        finally:
            holder.rollback()
            holder.close()
    finally:
        await engine.dispose()
    refused = await raised(
        create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x").connect()
    )

    assert is_database_unavailable(locked) and is_database_unavailable(refused)
    for error in (duplicate, no_table, syntax, closed, ValueError("bug"), OSError("disk")):
        assert not is_database_unavailable(error), error
