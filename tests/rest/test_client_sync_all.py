"""``users_list.sync_all`` (the generated client's synchronous walk over every page) against a
gql-users process of its own, so the blocking client does not stall the server's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from waldur_api_client.api.users import users_count, users_list
from waldur_api_client.client import AuthenticatedClient
from waldur_api_client.models.marketplace_service_provider_user_o_enum import (
    MarketplaceServiceProviderUserOEnum as Order,
)

from tests.conftest import Factory
from tests.live_server import LiveServer
from tests.rest.client_support import add_users


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path, database_url=database_url)
    live.start()
    yield live
    live.stop()


async def test_sync_all_walks_every_page(server: LiveServer, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    await add_users(factory.session, "walker", 230)
    await add_users(factory.session, "other", 5)
    wanted = [f"walker{number:03d}" for number in range(0, 230, 2)]
    client = AuthenticatedClient(base_url=server.base_url, token=await factory.token(staff))

    def walk() -> tuple[list[str], int]:
        users = users_list.sync_all(
            client=client, username_list=",".join(wanted), o=[Order.VALUE_11]
        )
        count = users_count.sync(client=client, username_list=",".join(wanted))
        return [user.username for user in users], int(count)

    usernames, count = await asyncio.to_thread(walk)
    # 115 users in pages of 100 (sync_all's page size): two pages, in -username order
    assert usernames == sorted(wanted, reverse=True)
    assert count == len(wanted)
