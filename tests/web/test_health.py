from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from gql_users.db.engine import create_engine
from gql_users.db.migrate import migrate
from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.conftest import BACKEND, _pg_admin
from tests.pgserver import free_port

OLDER_REVISION = "0003"


async def test_health_is_ok_with_the_database_reachable(client: Any) -> None:
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_503_when_the_database_is_unreachable(aiohttp_client: Any) -> None:
    nobody_listens = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
    client = await aiohttp_client(create_app(Settings(database_url=nobody_listens)))
    response = await client.get("/health")
    assert response.status == 503
    assert (await response.json())["database"] == "unreachable"


# --- /health/live and /health/ready ----------------------------------------------------------


async def test_live_answers_with_the_pid_without_the_database(aiohttp_client: Any) -> None:
    nobody_listens = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
    client = await aiohttp_client(create_app(Settings(database_url=nobody_listens)))
    response = await client.get("/health/live")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "pid": os.getpid()}
    assert (await client.get("/health/ready")).status == 503


async def test_ready_when_the_database_is_at_the_newest_migration(
    client: Any, tmp_path: Path
) -> None:
    # The newest revision, as migrating a new database reaches it.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    try:
        newest = (await migrate(engine)).after
    finally:
        await engine.dispose()
    response = await client.get("/health/ready")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "revision": newest,
    }


async def test_not_ready_until_the_migrations_reach_head(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'older.db'}"
    engine = create_engine(url)
    try:
        await migrate(engine, OLDER_REVISION)
        client = await aiohttp_client(create_app(Settings(database_url=url)))
        response = await client.get("/health/ready")
        assert response.status == 503
        assert response.headers["Retry-After"].isdigit()
        body = await response.json()
        assert body["database"] == "ok"
        assert body["migrations"] == "not at head"
        assert body["revision"] == OLDER_REVISION
        assert body["head"] not in (None, OLDER_REVISION)
        # The database answers: the plain check and liveness are fine meanwhile.
        assert (await client.get("/health")).status == 200
        assert (await client.get("/health/live")).status == 200

        newest = (await migrate(engine)).after
        response = await client.get("/health/ready")
        assert response.status == 200
        assert (await response.json())["revision"] == newest == body["head"]
    finally:
        await engine.dispose()


async def test_not_ready_when_the_database_is_gone(
    aiohttp_client: Any, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if BACKEND == "postgresql":
        # The database is dropped under the running app, its open connections with it.
        client = await aiohttp_client(create_app(Settings(database_url=database_url)))
        assert (await client.get("/health/ready")).status == 200
        server_url = request.getfixturevalue("postgres_server_url")
        await _pg_admin(server_url, f"DROP DATABASE {make_url(database_url).database} WITH (FORCE)")
    else:
        # A process keeps reading a SQLite file deleted under it: here the file's directory is
        # gone before the app first opens it.
        missing = f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'gql_users.db'}"
        client = await aiohttp_client(create_app(Settings(database_url=missing)))
    response = await client.get("/health/ready")
    assert response.status == 503
    assert response.headers["Retry-After"].isdigit()
    assert await response.json() == {"status": "unavailable", "database": "unreachable"}
    assert (await client.get("/health/live")).status == 200
