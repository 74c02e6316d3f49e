from __future__ import annotations

from typing import Any

from gql_users.settings import Settings
from gql_users.web.app import create_app
from tests.pgserver import free_port


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
