"""Subscriptions over graphql-transport-ws on the in-process app (both databases): who receives
which change, shaped how; authentication in connection_init; the token's end; limits; bad
messages."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from gql_users.http.keys import EVENTS
from tests.conftest import Factory
from tests.subscriptions import (
    PERMISSIONS_CHANGED,
    USER_CHANGED,
    USERS_CHANGED,
    connect,
)
from tests.world import World


async def listening(client: TestClient, count: int) -> None:
    """Wait until ``count`` subscriptions of the app listen to its event hub."""
    hub = client.app[EVENTS]
    for _ in range(200):
        if len(hub.subscriptions) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(hub.subscriptions)} subscriptions listen, not {count}")


async def patch_user(client: TestClient, factory: Factory, by: Any, user: Any, **body: Any) -> None:
    response = await client.patch(
        f"/api/users/{user.uuid.hex}/", json=body, headers=await factory.auth(by)
    )
    assert response.status == 200, await response.text()


async def test_users_changed_is_shaped_for_each_subscriber(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with (
        connect(client, "/graphql", await factory.token(world.staff)) as staff,
        connect(client, "/graphql", await factory.token(world.owner_a)) as owner,
    ):
        await staff.subscribe(USERS_CHANGED)
        await owner.subscribe(USERS_CHANGED)
        await listening(client, 2)
        await patch_user(client, factory, world.staff, world.member_a1, job_title="Chemist")
        seen_by_staff = (await staff.next_data())["usersChanged"]
        seen_by_owner = (await owner.next_data())["usersChanged"]
    assert seen_by_staff["kind"] == seen_by_owner["kind"] == "UPDATED"
    assert seen_by_staff["user"]["username"] == seen_by_owner["user"]["username"] == "member_a1"
    # Staff read the birth date and isStaff; the owner sees the user, not those fields.
    assert seen_by_staff["user"]["birthDate"] is not None
    assert seen_by_staff["user"]["isStaff"] is False
    assert seen_by_owner["user"]["birthDate"] is None
    assert seen_by_owner["user"]["isStaff"] is None


async def test_a_subscriber_who_may_not_see_the_user_receives_nothing(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql", await factory.token(world.member_b1)) as member_b1:
        await member_b1.subscribe(USERS_CHANGED)
        await listening(client, 1)
        # member_b1 may not see member_a1: that change never reaches them, and the one they
        # may see, made after it, is the first they receive.
        await patch_user(client, factory, world.staff, world.member_a1, job_title="Hidden")
        await patch_user(client, factory, world.staff, world.owner_b, job_title="Shown")
        change = (await member_b1.next_data())["usersChanged"]
        assert change["user"]["username"] == "owner_b"
        await member_b1.nothing()


async def test_user_changed_follows_one_user_through_deactivation_and_deletion(
    client: TestClient, factory: Factory, world: World
) -> None:
    target = world.member_a1
    variables = {"uuid": target.uuid.hex}
    async with (
        connect(client, "/graphql", await factory.token(world.staff)) as staff,
        connect(client, "/graphql", await factory.token(world.owner_a)) as owner,
    ):
        await staff.subscribe(USER_CHANGED, variables)
        await owner.subscribe(USER_CHANGED, variables)
        await listening(client, 2)
        await patch_user(client, factory, world.owner_b, world.owner_b, job_title="Elsewhere")
        await patch_user(client, factory, world.staff, target, is_active=False)
        # Staff still see the inactive user; the owner sees active users only, and is told
        # it is gone.
        assert (await staff.next_data())["userChanged"] == {
            "kind": "DEACTIVATED",
            "uuid": target.uuid.hex,
            "user": {"username": "member_a1", "email": target.email},
        }
        assert (await owner.next_data())["userChanged"] == {
            "kind": "DEACTIVATED",
            "uuid": target.uuid.hex,
            "user": None,
        }
        response = await client.delete(
            f"/api/users/{target.uuid.hex}/", headers=await factory.auth(world.staff)
        )
        assert response.status == 204
        assert (await staff.next_data())["userChanged"] == {
            "kind": "DELETED",
            "uuid": target.uuid.hex,
            "user": None,
        }
        # The owner could no longer see the user when it was deleted: nothing more.
        await owner.nothing()


async def test_created_users_reach_staff_through_graphql_mutations(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql", await factory.token(world.support)) as support:
        await support.subscribe(USERS_CHANGED)
        await listening(client, 1)
        response = await client.post(
            "/graphql",
            json={
                "query": 'mutation { createUser(input: {username: "fresh", email: '
                '"fresh@example.com"}) { user { uuid } userErrors { message } } }'
            },
            headers=await factory.auth(world.staff),
        )
        created = (await response.json())["data"]["createUser"]["user"]
        change = (await support.next_data())["usersChanged"]
    assert change["kind"] == "CREATED"
    assert change["uuid"] == created["uuid"]
    assert change["user"]["username"] == "fresh"


async def test_permissions_changed_fires_when_roles_change(
    client: TestClient, factory: Factory, world: World, session: Any
) -> None:
    from gql_users.accounts.permissions import publish_permissions_changed

    target = world.member_a1
    async with connect(client, "/graphql", await factory.token(world.owner_a)) as owner:
        await owner.subscribe(PERMISSIONS_CHANGED, {"uuid": target.uuid.hex})
        await owner.subscribe(USER_CHANGED, {"uuid": target.uuid.hex})
        await listening(client, 2)
        await factory.grant(target, "PROJECT.ADMIN", world.a2)
        await publish_permissions_changed(session, target.uuid)
        await session.commit()
        messages = [await owner.receive(), await owner.receive()]
    by_id = {message["id"]: message["payload"]["data"] for message in messages}
    roles = sorted(p["roleName"] for p in by_id["1"]["permissionsChanged"]["user"]["permissions"])
    assert roles == ["PROJECT.ADMIN", "PROJECT.MEMBER"]
    assert by_id["1"]["permissionsChanged"]["userUuid"] == target.uuid.hex
    assert by_id["2"]["userChanged"]["kind"] == "UPDATED"
