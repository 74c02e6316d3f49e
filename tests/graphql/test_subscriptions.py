"""Subscriptions over graphql-transport-ws on the in-process app (both databases): who receives
which change, shaped how; authentication in connection_init; the token's end; limits; bad
messages."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from gql_users.db.models import AuthToken, utcnow
from gql_users.http.keys import EVENTS
from gql_users.settings import Settings
from gql_users.web.app import create_app
from gql_users.web.graphql_view import SUBSCRIPTION_OVER_HTTP
from gql_users.web.graphql_ws import INVALID_COMPLETE, INVALID_MESSAGE, SUBSCRIPTIONS_ONLY
from tests.conftest import Factory
from tests.subscriptions import (
    PERMISSIONS_CHANGED,
    USER_CHANGED,
    USERS_CHANGED,
    Closed,
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


async def test_permissions_changed_fires_when_roles_are_granted_and_revoked(
    client: TestClient, factory: Factory, world: World
) -> None:
    """Through the REST routes that grant and revoke (the core's role_grants), each subscriber
    hears the change once the write is committed, with the roles as committed."""
    target = world.member_a1
    path = f"/api/projects/{world.a2.uuid.hex}"
    body = {"role": "PROJECT.ADMIN", "user": target.uuid.hex}
    headers = await factory.auth(world.owner_a)
    async with connect(client, "/graphql", await factory.token(world.owner_a)) as owner:
        await owner.subscribe(PERMISSIONS_CHANGED, {"uuid": target.uuid.hex})
        await owner.subscribe(USER_CHANGED, {"uuid": target.uuid.hex})
        await listening(client, 2)
        granted = await client.post(f"{path}/add_user/", json=body, headers=headers)
        assert granted.status == 201, await granted.text()
        messages = [await owner.receive(), await owner.receive()]
        revoked = await client.post(f"{path}/delete_user/", json=body, headers=headers)
        assert revoked.status in (200, 204), await revoked.text()
        after_revoke = [await owner.receive(), await owner.receive()]
    after = next(m for m in after_revoke if m["id"] == "1")["payload"]["data"]["permissionsChanged"]
    by_id = {message["id"]: message["payload"]["data"] for message in messages}
    roles = sorted(p["roleName"] for p in by_id["1"]["permissionsChanged"]["user"]["permissions"])
    assert roles == ["PROJECT.ADMIN", "PROJECT.MEMBER"]
    assert by_id["1"]["permissionsChanged"]["userUuid"] == target.uuid.hex
    assert by_id["2"]["userChanged"]["kind"] == "UPDATED"
    assert [p["roleName"] for p in after["user"]["permissions"]] == ["PROJECT.MEMBER"]


async def test_a_refused_grant_publishes_nothing(
    client: TestClient, factory: Factory, world: World
) -> None:
    target = world.member_a1
    async with connect(client, "/graphql", await factory.token(world.staff)) as staff:
        await staff.subscribe(PERMISSIONS_CHANGED, {"uuid": target.uuid.hex})
        await listening(client, 1)
        repeated = await client.post(
            f"/api/projects/{world.a1.uuid.hex}/add_user/",
            json={"role": "PROJECT.MEMBER", "user": target.uuid.hex},
            headers=await factory.auth(world.staff),
        )
        assert repeated.status == 400, await repeated.text()
        await staff.nothing()


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"authorization": "Token 0123456789abcdef0123456789abcdef01234567"},
        {"authorization": "Token"},
        {"authorization": "Bearer something"},
        {"authorization": 42},
    ],
    ids=["none", "unknown", "no-key", "other-scheme", "not-a-string"],
)
async def test_a_connection_without_a_usable_token_is_refused(
    client: TestClient, payload: dict[str, Any]
) -> None:
    async with connect(client, "/graphql") as connection:
        await connection.send({"type": "connection_init", "payload": payload})
        assert await connection.receive() == Closed(4403, "Forbidden")


async def test_an_inactive_users_token_is_refused(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql") as connection:
        closed = await connection.init(await factory.token(world.inactive_a1))
    assert closed == Closed(4403, "Forbidden")


async def test_the_upgrade_requests_header_authenticates_too(
    client: TestClient, factory: Factory, world: World
) -> None:
    headers = await factory.auth(world.owner_a)
    async with connect(client, "/graphql", headers=headers) as connection:
        ack = await connection.init(None)
        assert isinstance(ack, dict) and ack["type"] == "connection_ack"
        await connection.subscribe(USERS_CHANGED)
        await listening(client, 1)
        await patch_user(client, factory, world.staff, world.member_a1, job_title="Header")
        assert (await connection.next_data())["usersChanged"]["user"]["username"] == "member_a1"


async def test_a_bad_header_on_the_upgrade_is_refused_before_it(
    client: TestClient,
) -> None:
    response = await client.get(
        "/graphql",
        headers={
            "Authorization": "Token nope",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "graphql-transport-ws",
        },
    )
    assert response.status == 401


async def test_subscribing_before_connection_init_is_refused(client: TestClient) -> None:
    async with connect(client, "/graphql") as connection:
        await connection.subscribe(USERS_CHANGED)
        assert await connection.receive() == Closed(4401, "Unauthorized")


async def test_no_connection_init_in_time_closes_the_connection(
    settings: Settings, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"graphql_ws_init_timeout": 0.2}))
    )
    async with connect(client, "/graphql") as connection:
        assert await connection.receive() == Closed(4408, "Connection initialisation timeout")


# --- the token's end ---------------------------------------------------------------------------


async def test_logging_out_ends_the_subscription_and_the_connection(
    client: TestClient, factory: Factory, world: World
) -> None:
    headers = await factory.auth(world.owner_a)
    async with connect(client, "/graphql", await factory.token(world.owner_a)) as connection:
        operation = await connection.subscribe(USERS_CHANGED)
        await listening(client, 1)
        response = await client.post("/api-auth/logout/", headers=headers)
        assert response.status == 204, await response.text()
        ended = await connection.receive()
        assert ended["id"] == operation and ended["type"] == "next"
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert ended["payload"]["errors"][0]["message"] == "Invalid token."
        assert await connection.receive() == {"id": operation, "type": "complete"}
        assert await connection.receive() == Closed(4403, "Forbidden")


async def test_a_refreshed_token_ends_the_subscriptions_on_the_old_one(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql", await factory.token(world.staff)) as connection:
        await connection.subscribe(USER_CHANGED, {"uuid": world.loner.uuid.hex})
        await listening(client, 1)
        response = await client.post(
            f"/api/users/{world.staff.uuid.hex}/refresh_token/",
            headers=await factory.auth(world.staff),
        )
        assert response.status == 200, await response.text()
        ended = await connection.receive()
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_subscription_ends_when_its_token_expires(
    client: TestClient, factory: Factory, world: World, session: Any
) -> None:
    # The token expires in about a second: its lifetime is 2 s and it was made 0.8 s ago
    # (authenticating does not slide it: that happens after half its lifetime).
    world.loner.token_lifetime = 2
    await session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == world.loner.id)
        .values(created=utcnow() - timedelta(seconds=0.8))
    )
    await session.commit()
    async with connect(client, "/graphql", await factory.token(world.loner)) as connection:
        await connection.subscribe(USERS_CHANGED)
        ended = await connection.receive(timeout=4)
    assert ended["payload"]["errors"][0]["message"] == "Token has expired."


# --- limits and bad messages -------------------------------------------------------------------


async def test_subscriptions_per_connection_and_per_user_are_limited(
    settings: Settings, aiohttp_client: Any, factory: Factory, world: World
) -> None:
    limited = settings.model_copy(
        update={"graphql_subscriptions_per_connection": 2, "graphql_subscriptions_per_user": 3}
    )
    client = await aiohttp_client(create_app(limited))
    token = await factory.token(world.owner_a)
    async with (
        connect(client, "/graphql", token) as first,
        connect(client, "/graphql", token) as second,
    ):
        await first.subscribe(USERS_CHANGED)
        await first.subscribe(USERS_CHANGED)
        third = await first.subscribe(USERS_CHANGED)
        refused = await first.receive()
        assert refused["id"] == third and refused["type"] == "error"
        assert refused["payload"][0]["message"] == "At most 2 subscriptions per connection."
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        await listening(client, 2)
        await second.subscribe(USERS_CHANGED)
        fourth = await second.subscribe(USERS_CHANGED)
        over = await second.receive()
        assert over["id"] == fourth and over["type"] == "next"
        assert (
            over["payload"]["errors"][0]["message"] == "At most 3 subscriptions per user at once."
        )
        assert await second.receive() == {"id": fourth, "type": "complete"}
        # The three that were accepted still work.
        await patch_user(client, factory, world.staff, world.member_a1, job_title="Still")
        for connection, count in ((first, 2), (second, 1)):
            for _ in range(count):
                assert (await connection.next_data())["usersChanged"]["kind"] == "UPDATED"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "WebSocket message must be valid JSON"),
        ([1, 2], INVALID_MESSAGE),
        ({"type": 7}, INVALID_MESSAGE),
        ({"type": "subscribe", "id": "1", "payload": ["query"]}, "subscribe"),
        ({"type": "subscribe", "id": "1", "payload": {"query": 1}}, "subscribe"),
        ({"type": "subscribe", "id": 1, "payload": {"query": "{ me { uuid } }"}}, "subscribe"),
        ({"type": "subscribe", "id": "1", "payload": {"query": "x", "variables": []}}, "subscribe"),
        ({"type": "complete"}, INVALID_COMPLETE),
        ({"type": "launch"}, "Unknown message type: launch"),
        ({"type": "x" * 500}, "Unknown message type: xxx"),
    ],
    ids=[
        "not-json",
        "array",
        "type",
        "payload",
        "query",
        "id",
        "variables",
        "complete",
        "unknown",
        "long-type",
    ],
)
async def test_a_malformed_message_closes_the_connection_with_4400(
    client: TestClient, factory: Factory, world: World, message: Any, reason: str
) -> None:
    async with connect(client, "/graphql", await factory.token(world.loner)) as connection:
        if isinstance(message, str):
            await connection.ws.send_str(message)
        else:
            await connection.send(message)
        closed = await connection.receive()
    assert isinstance(closed, Closed) and closed.code == 4400
    assert reason in closed.reason


async def test_a_huge_message_closes_the_connection_with_1009(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql", await factory.token(world.loner)) as connection:
        query = "subscription { usersChanged { uuid } }" + " " * 70_000
        await connection.send({"id": "1", "type": "subscribe", "payload": {"query": query}})
        closed = await connection.receive()
    assert isinstance(closed, Closed) and closed.code == 1009


async def test_queries_and_mutations_belong_to_http(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql", await factory.token(world.loner)) as connection:
        for document in ("{ me { uuid } }", "mutation { logout { success } }"):
            operation = await connection.subscribe(document)
            refused = await connection.receive()
            assert refused == {
                "id": operation,
                "type": "error",
                "payload": [{"message": SUBSCRIPTIONS_ONLY}],
            }


async def test_the_document_limits_apply_to_subscriptions(
    client: TestClient, factory: Factory, world: World
) -> None:
    aliases = " ".join(f"a{n}: uuid" for n in range(40))
    async with connect(client, "/graphql", await factory.token(world.loner)) as connection:
        for document, message in (
            (f"subscription {{ usersChanged {{ {aliases} }} }}", "40 aliases found. Allowed: 15"),
            ("subscription { usersChanged { nope } }", "Cannot query field 'nope'"),
            ("subscription { usersChanged {", "Syntax Error"),
        ):
            operation = await connection.subscribe(document)
            refused = await connection.receive()
            assert refused["id"] == operation and refused["type"] == "error", refused
            assert refused["payload"][0]["message"].startswith(message)
        # The connection survives them all.
        await connection.subscribe(USERS_CHANGED)
        await listening(client, 1)


async def test_subscriptions_over_http_are_refused(
    client: TestClient, factory: Factory, world: World
) -> None:
    query = "subscription { usersChanged { uuid } }"
    headers = await factory.auth(world.loner)
    for response in (
        await client.post("/graphql", json={"query": query}, headers=headers),
        await client.get("/graphql", params={"query": query}, headers=headers),
    ):
        assert response.status == 400
        assert await response.json() == {"errors": [{"message": SUBSCRIPTION_OVER_HTTP}]}


async def test_shutting_down_closes_open_connections_as_going_away(
    client: TestClient, factory: Factory, world: World
) -> None:
    async with connect(client, "/graphql", await factory.token(world.loner)) as connection:
        await connection.subscribe(USERS_CHANGED)
        await listening(client, 1)
        await client.app.shutdown()
        assert await connection.receive() == Closed(1001, "Server shutting down")


async def test_a_browser_on_another_origin_may_not_open_a_connection(
    client: TestClient,
) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(
            "/graphql", protocols=["graphql-transport-ws"], origin="https://elsewhere.example"
        )
    assert refused.value.status == 403


async def test_a_second_connection_init_closes_the_connection(
    client: TestClient, factory: Factory, world: World
) -> None:
    token = await factory.token(world.loner)
    async with connect(client, "/graphql", token) as connection:
        assert await connection.init(token) == Closed(4429, "Too many initialisation requests")
