from __future__ import annotations

from typing import Any

from waldur_api_client.api.users import users_list, users_me_retrieve, users_retrieve

from tests.conftest import Factory


async def test_list_me_and_retrieve_through_the_generated_client(
    api: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    other = await factory.user("other", first_name="Fran\u00e7ois", last_name="J\u00fcrim\u00e4e")
    client = api(await factory.token(staff))
    listed = await users_list.asyncio(client=client)
    assert [user.username for user in listed] == ["other", "staff"]
    me = await users_me_retrieve.asyncio(client=client)
    assert me.username == "staff" and me.token == await factory.token(staff)
    detail = await users_retrieve.asyncio(uuid=other.uuid, client=client)
    assert detail.full_name == "Fran\u00e7ois J\u00fcrim\u00e4e"
