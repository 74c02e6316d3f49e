"""Subscriptions against live gql-users processes over a socket: two processes on one PostgreSQL
database share their changes (LISTEN/NOTIFY), thirty connections at once, and the listening
connection coming back after PostgreSQL restarts."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gql_users.db.models import User
from tests.conftest import BACKEND, Factory
from tests.hostile.conftest import StartServer
from tests.hostile.test_faults import StoppablePostgres
from tests.live_server import LiveServer
from tests.subscriptions import USERS_CHANGED, Closed, WSConnection, connect
from tests.world import World

DELIVERY = 1.0
"""Seconds within which a subscriber hears a change made through another process."""

postgresql_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="processes share events through PostgreSQL only"
)
_titles = itertools.count()


def ws_url(server: LiveServer) -> str:
    return server.base_url.replace("http://", "ws://") + "/graphql"


def patcher(
    http: aiohttp.ClientSession, server: LiveServer, headers: dict[str, str], user: User
) -> Callable[[], Awaitable[float]]:
    """A REST PATCH of ``user``'s job title through ``server``; returns when it answered."""

    async def patch() -> float:
        url = f"{server.base_url}/api/users/{user.uuid.hex}/"
        body = {"job_title": f"title {next(_titles)}"}
        async with http.patch(url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
        return time.monotonic()

    return patch


async def drain(connection: WSConnection) -> None:
    """Take whatever is on its way until the connection is quiet."""
    while True:
        try:
            message = await connection.ws.receive(timeout=0.3)
        except TimeoutError:
            return
        assert message.type == aiohttp.WSMsgType.TEXT, message


async def warm_up(
    connections: Sequence[WSConnection], change: Callable[[], Awaitable[Any]]
) -> None:
    """Change a user every user of ``connections`` sees until each connection has heard of it:
    their subscriptions are live (a subscription starts listening a moment after its
    ``subscribe``, and the protocol does not say when)."""
    waiting = list(connections)
    deadline = time.monotonic() + 10
    while waiting and time.monotonic() < deadline:
        try:
            await change()
        except AssertionError:  # the database is still coming back
            await asyncio.sleep(0.2)
            continue
        heard = await asyncio.gather(*(heard_within(c, 0.3) for c in waiting))
        waiting = [c for c, yes in zip(waiting, heard, strict=True) if not yes]
    assert not waiting, f"{len(waiting)} subscriptions never started"
    await asyncio.gather(*(drain(c) for c in connections))


async def heard_within(connection: WSConnection, seconds: float) -> bool:
    try:
        await connection.next_data(timeout=seconds)
    except TimeoutError:
        return False
    return True


@postgresql_only
async def test_two_processes_share_changes_shaped_for_each_subscriber(
    start_server: StartServer, factory: Factory, world: World, http: aiohttp.ClientSession
) -> None:
    first, second = start_server("first"), start_server("second")
    staff = await factory.auth(world.staff)
    owner_key = await factory.token(world.owner_a)
    outsider_key = await factory.token(world.member_b1)
    patch_member = patcher(http, second, staff, world.member_a1)
    patch_owner_b = patcher(http, second, staff, world.owner_b)
    await factory.session.close()
    async with (
        connect(http, ws_url(first), owner_key) as owner,
        connect(http, ws_url(first), outsider_key) as outsider,
    ):
        owner_operation = await owner.subscribe(USERS_CHANGED)
        await outsider.subscribe(USERS_CHANGED)
        await warm_up([owner], patch_member)
        await warm_up([outsider], patch_owner_b)

        sent = await patch_member()
        change = (await owner.next_data(timeout=DELIVERY))["usersChanged"]
        assert time.monotonic() - sent < DELIVERY
        assert change["kind"] == "UPDATED" and change["uuid"] == world.member_a1.uuid.hex
        # Shaped for the owner: they see the user, not its birth date nor isStaff.
        assert change["user"]["username"] == "member_a1"
        assert change["user"]["birthDate"] is None and change["user"]["isStaff"] is None

        # member_b1 may not see member_a1: the first change they hear of is owner_b's, made
        # after it.
        await patch_owner_b()
        heard = (await outsider.next_data(timeout=DELIVERY))["usersChanged"]
        assert heard["user"]["username"] == "owner_b"

        # Logging out through the second process ends the subscription on the first.
        logged_out = time.monotonic()
        async with http.post(
            f"{second.base_url}/api-auth/logout/", headers={"Authorization": f"Token {owner_key}"}
        ) as response:
            assert response.status == 204
        ended = await owner.receive(timeout=DELIVERY)
        assert time.monotonic() - logged_out < DELIVERY
        assert isinstance(ended, dict) and ended["id"] == owner_operation
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await owner.receive() == {"id": owner_operation, "type": "complete"}
        assert await owner.receive() == Closed(4403, "Forbidden")
    for server in (first, second):
        assert "Traceback" not in server.output()


async def test_thirty_parallel_connections_each_hear_the_change(
    start_server: StartServer, factory: Factory, world: World, http: aiohttp.ClientSession
) -> None:
    server = start_server(env={"GQL_USERS_GRAPHQL_SUBSCRIPTIONS_PER_USER": "30"})
    patch = patcher(http, server, await factory.auth(world.staff), world.loner)
    key = await factory.token(world.support)
    await factory.session.close()
    async with AsyncExitStack() as stack:
        connections = await asyncio.gather(
            *(stack.enter_async_context(connect(http, ws_url(server), key)) for _ in range(30))
        )
        for connection in connections:
            await connection.subscribe(USERS_CHANGED)
        await warm_up(connections, patch)
        sent = await patch()
        changes = await asyncio.gather(*(c.next_data() for c in connections))
        elapsed = time.monotonic() - sent
    assert {change["usersChanged"]["user"]["username"] for change in changes} == {"loner"}
    assert elapsed < 2 * DELIVERY
    assert "Traceback" not in server.output()


@postgresql_only
async def test_subscriptions_hear_changes_again_after_postgresql_restarts(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    from gql_users.db.engine import create_engine, create_sessionmaker
    from gql_users.db.migrate import migrate

    postgres = StoppablePostgres()
    url = postgres.start()
    server = LiveServer(tmp_path, database_url=url)
    try:
        engine = create_engine(url)
        await migrate(engine)
        async with create_sessionmaker(engine)() as session:
            factory = Factory(session)
            staff = await factory.user("restartstaff", is_staff=True)
            target = await factory.user("restarted")
            key = await factory.token(staff)
        await engine.dispose()
        server.start()
        patch = patcher(http, server, {"Authorization": f"Token {key}"}, target)
        async with connect(http, ws_url(server), key) as connection:
            await connection.subscribe(USERS_CHANGED)
            await warm_up([connection], patch)
            await asyncio.to_thread(postgres.halt)
            await asyncio.sleep(1)
            await asyncio.to_thread(postgres.resume)
            # The listening connection comes back by itself (backing off up to 5 s).
            await warm_up([connection], patch)
            sent = await patch()
            change = (await connection.next_data(timeout=DELIVERY))["usersChanged"]
            assert time.monotonic() - sent < DELIVERY
            assert change["user"]["username"] == "restarted"
        assert "events: listening connection lost" in server.output()
    finally:
        server.stop()
        postgres.stop()
