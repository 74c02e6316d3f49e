"""Shared fixtures: a fresh migrated database per test (SQLite file or PostgreSQL), the app,
and factories for users, customers, projects and roles.

The backend is chosen by ``GQL_USERS_TEST_DB`` (``sqlite``, the default, or ``postgresql``).
For PostgreSQL, ``GQL_USERS_TEST_POSTGRES_URL`` points at a server to use; without it the suite
starts its own throwaway server (tests/pgserver.py).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.tokens import generate_key
from gql_users.db.engine import create_engine, create_sessionmaker
from gql_users.db.migrate import migrate
from gql_users.db.models import AuthToken, Customer, Project, Role, User, UserRole, utcnow
from gql_users.settings import Settings
from gql_users.web.app import create_app

if TYPE_CHECKING:
    from tests.world import World

BACKEND = os.environ.get("GQL_USERS_TEST_DB", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"GQL_USERS_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")

_database_numbers = itertools.count(1)


FIGURES = "figures"
"""A test's ``record_property(FIGURES, line)`` puts ``line`` in the closing summary: properties
travel with the report, so this works under pytest-xdist too, where workers' output does not."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        f"{report.nodeid}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == FIGURES
    ]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_report_header() -> str:
    return f"gql-users test database backend: {BACKEND}"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    given = os.environ.get("GQL_USERS_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    from tests.pgserver import PostgresServer

    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _pg_admin(server_url: str, *statements: str) -> None:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_database(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """A migrated database that each test copies (much faster than migrating per test)."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        asyncio.run(_migrate_url(f"sqlite+aiosqlite:///{path}"))
        return str(path)
    server_url = request.getfixturevalue("postgres_server_url")
    name = f"gql_users_template_{os.getpid()}"
    asyncio.run(_pg_admin(server_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"))
    asyncio.run(_migrate_url(str(make_url(server_url).set(database=name).render_as_string(False))))
    return name


@pytest.fixture
def database_url(
    template_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if BACKEND == "sqlite":
        path = tmp_path / "gql_users.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    name = f"gql_users_test_{os.getpid()}_{next(_database_numbers)}"
    # One admin connection per test: it drops the previous test's database (dropped late, so
    # that dropping costs no connection of its own) and copies the template. FILE_COPY copies
    # the files instead of writing every block to the WAL: much faster for a small template on
    # a server without fsync.
    statements = [f"DROP DATABASE IF EXISTS {old} WITH (FORCE)" for old in _finished_databases]
    statements.append(f"CREATE DATABASE {name} TEMPLATE {template_database} STRATEGY FILE_COPY")
    asyncio.run(_pg_admin(server_url, *statements))
    _finished_databases.clear()
    yield make_url(server_url).set(database=name).render_as_string(False)
    _finished_databases.append(name)


_finished_databases: list[str] = []
"""This worker's test databases that are finished but not dropped yet (see ``database_url``)."""


@pytest.fixture(scope="session", autouse=True)
def drop_finished_databases() -> Iterator[None]:
    """Drop the last test database at the end, on a server that outlives the run (a throwaway
    server goes with its databases)."""
    yield
    given = os.environ.get("GQL_USERS_TEST_POSTGRES_URL")
    if BACKEND != "sqlite" and given and _finished_databases:
        statements = [f"DROP DATABASE IF EXISTS {old} WITH (FORCE)" for old in _finished_databases]
        asyncio.run(_pg_admin(given, *statements))
        _finished_databases.clear()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        mail_dir=str(tmp_path / "mail"),
        media_dir=str(tmp_path / "media"),
        public_url="http://testserver/",
        frontend_url="https://frontend.example/",
        debug_sql=True,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(settings))


# --- factories -------------------------------------------------------------------------------

_usernames = itertools.count(1)


_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@functools.cache
def password_hash(password: str) -> str:
    """A fixture user's stored hash: argon2id like the service's, with the cheapest parameters,
    once per password per process. Verification reads the parameters from the hash, so a login
    against it costs a millisecond instead of a third of a second; the service's own hashes
    (``hash_password``, of changed passwords) keep its parameters."""
    return _CHEAP_HASHER.hash(password)


@dataclass
class Factory:
    """Creates rows directly in the test database and commits them."""

    session: AsyncSession
    _batching: bool = field(default=False, init=False)

    async def _commit(self) -> None:
        if self._batching:
            await self.session.flush()
        else:
            await self.session.commit()

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Rows created inside are committed once, at the end: a world of thirty rows costs one
        transaction instead of thirty."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
        await self.session.commit()

    async def user(
        self,
        username: str | None = None,
        *,
        password: str | None = None,
        with_token: bool = True,
        **fields: Any,
    ) -> User:
        fields.setdefault("email", f"{username or 'user'}@example.com")
        fields.setdefault("agreement_date", utcnow())
        fields.setdefault("token_lifetime", 3600)
        user = User(username=username or f"user{next(_usernames)}", **fields)
        if password is not None:
            user.password = password_hash(password)
        self.session.add(user)
        await self.session.flush()
        if with_token:
            self.session.add(AuthToken(key=generate_key(), user_id=user.id, created=utcnow()))
        await self._commit()
        return user

    async def person(self, username: str, **fields: Any) -> User:
        """A user with a full profile derived from ``username`` (``owner_a``: Owner A, of
        "owner_a org", about owner_a, a birth date), so that a field missing from a rendering
        means "hidden", never "empty"; ``fields`` override any of it."""
        first, _, last = username.partition("_")
        fields.setdefault("first_name", first.capitalize())
        fields.setdefault("last_name", (last or "person").capitalize())
        fields.setdefault("organization", f"{username} org")
        fields.setdefault("description", f"about {username}")
        fields.setdefault(
            "birth_date", date(1960 + len(username), 1 + len(username) % 12, 1 + len(first))
        )
        return await self.user(username, **fields)

    async def token(self, user: User) -> str:
        key = await self.session.scalar(select(AuthToken.key).where(AuthToken.user_id == user.id))
        assert key is not None, f"{user.username} has no token"
        return key

    async def auth(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Token {await self.token(user)}"}

    async def customer(self, name: str = "Customer", **fields: Any) -> Customer:
        customer = Customer(name=name, **fields)
        self.session.add(customer)
        await self._commit()
        return customer

    async def project(self, customer: Customer, name: str = "Project", **fields: Any) -> Project:
        project = Project(name=name, customer_id=customer.id, **fields)
        self.session.add(project)
        await self._commit()
        return project

    async def role(self, name: str) -> Role:
        role = await self.session.scalar(select(Role).where(Role.name == name))
        assert role is not None, name
        return role

    async def grant(
        self,
        user: User,
        role_name: str,
        scope: Customer | Project,
        *,
        created_by: User | None = None,
        is_active: bool = True,
        **fields: Any,
    ) -> UserRole:
        role = await self.role(role_name)
        permission = UserRole(
            user_id=user.id,
            role_id=role.id,
            customer_id=scope.id if isinstance(scope, Customer) else None,
            project_id=scope.id if isinstance(scope, Project) else None,
            created_by_id=created_by.id if created_by else None,
            is_active=is_active,
            **fields,
        )
        self.session.add(permission)
        await self._commit()
        return permission


@pytest.fixture
def factory(session: AsyncSession) -> Factory:
    return Factory(session)


@pytest.fixture
async def world(factory: Factory) -> World:
    """The shared cast of tests/world.py on the test's database."""
    from tests.world import build_world

    return await build_world(factory)
