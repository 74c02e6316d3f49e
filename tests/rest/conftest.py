"""REST fixtures: a server on a real socket and the generated client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from waldur_api_client.client import AuthenticatedClient, Client

from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.pgserver import free_port


@pytest.fixture
async def live_settings(settings: Settings) -> Settings:
    """Settings whose public URL is the live server's, so Link headers can be followed."""
    port = free_port()
    return settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}/", "port": port})


@pytest.fixture
async def live_server(live_settings: Settings) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(live_settings), host="127.0.0.1", port=live_settings.port)
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def base_url(live_server: TestServer) -> str:
    return str(live_server.make_url("")).rstrip("/")


@pytest.fixture
def api(base_url: str) -> Any:
    """``api(token)`` -> an AuthenticatedClient for that token; ``api()`` -> anonymous Client."""

    def make(token: str | None = None) -> AuthenticatedClient | Client:
        if token is None:
            return Client(base_url=base_url)
        return AuthenticatedClient(base_url=base_url, token=token)

    return make
