"""Hostile traffic against a real gql-users process: each test gets a live server on its own
fresh database (SQLite file or PostgreSQL, as the leg), reached over a socket with aiohttp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.live_server import LiveServer

StartServer = Callable[..., LiveServer]


@pytest.fixture
def start_server(database_url: str, tmp_path: Path) -> Iterator[StartServer]:
    """Start one or more live servers on the test's database; ``env`` adds settings, ``cli``
    starts ``gql-users serve`` (with its logging) instead of a bare ``run_app``.

    Every server started here is stopped after the test.
    """
    servers: list[LiveServer] = []

    def start(
        name: str = "server", env: dict[str, str] | None = None, cli: bool = False
    ) -> LiveServer:
        workdir = tmp_path / name
        workdir.mkdir()
        server = LiveServer(workdir, database_url=database_url, env=env, cli=cli)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live(start_server: StartServer) -> LiveServer:
    """One live server with the default settings."""
    return start_server()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session with enough connections for the parallel bursts of these tests."""
    connector = aiohttp.TCPConnector(limit=100)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session
