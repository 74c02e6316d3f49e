"""Parallel writes against a live server: duplicate creates, token refreshes and logins, image
uploads. No request may fail with a 5xx, and what the responses say must be what the database
and the media directory hold afterwards (docs/hardening.md#races)."""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.tokens import generate_key
from gql_users.accounts.users import USERNAME_TAKEN
from gql_users.db.conflicts import UniqueViolation, unique_violation
from gql_users.db.models import AuthToken, LoginFailure, User, utcnow
from tests.conftest import Factory
from tests.hostile.conftest import StartServer
from tests.live_server import LiveServer

PARALLEL = 20
PASSWORD = "correct horse battery"
CREATE = """mutation($input: CreateUserInput!) { createUser(input: $input) {
  user { username } userErrors { field message code } } }"""
REFRESH = "mutation($uuid: UUID!) { refreshToken(uuid: $uuid) { token { token } } }"
LOGIN = """mutation($username: String, $password: String) {
  login(username: $username, password: $password) { token } }"""


def png(shade: int) -> bytes:
    """A valid 1x1 grey PNG; ``shade`` makes each one's bytes different."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes([0, shade]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"  # recognised by its signature, as every image is


async def graphql(
    http: aiohttp.ClientSession, base: str, query: str, variables: dict[str, Any], key: str = ""
) -> dict[str, Any]:
    headers = {"Authorization": f"Token {key}"} if key else {}
    async with http.post(
        base + "/graphql", json={"query": query, "variables": variables}, headers=headers
    ) as reply:
        assert reply.status == 200, await reply.text()
        body: dict[str, Any] = await reply.json()
    assert "errors" not in body, body
    return body["data"]


async def stored_key(factory: Factory, user: User) -> str | None:
    return await factory.session.scalar(
        select(AuthToken.key)
        .where(AuthToken.user_id == user.id)
        .execution_options(populate_existing=True)
    )


async def key_works(http: aiohttp.ClientSession, base: str, key: str) -> bool:
    async with http.get(base + "/api/users/me/", headers={"Authorization": f"Token {key}"}) as r:
        return r.status == 200


def media_files(server: LiveServer) -> list[Path]:
    """Every file under the server's media directory, temporary uploads included."""
    return sorted(path for path in (server.workdir / "media").rglob("*") if path.is_file())


# --- unique columns: the constraint, not only the check before the write -------------------------


async def test_parallel_rest_creates_of_one_username_give_one_201(
    factory: Factory, live: LiveServer, http: aiohttp.ClientSession
) -> None:
    staff = await factory.user("staff", is_staff=True)
    headers = await factory.auth(staff)

    async def create(shade: int) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("username", "twin")
        form.add_field("email", "twin@example.com")
        form.add_field("image", png(shade), filename="twin.png", content_type="image/png")
        async with http.post(live.base_url + "/api/users/", data=form, headers=headers) as reply:
            return reply.status, await reply.json()

    answers = await asyncio.gather(*(create(shade) for shade in range(PARALLEL)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [400] * (PARALLEL - 1)
    losers = [body for status, body in answers if status == 400]
    assert losers == [{"username": [USERNAME_TAKEN]}] * (PARALLEL - 1)
    (winner,) = [body for status, body in answers if status == 201]
    twins = (await factory.session.scalars(select(User).where(User.username == "twin"))).all()
    assert [user.uuid.hex for user in twins] == [winner["uuid"]]
    # The losers' images were removed with their failed writes: only the winner's is left.
    assert [path.relative_to(live.workdir / "media").as_posix() for path in media_files(live)] == [
        twins[0].image
    ]


async def test_parallel_graphql_creates_race_for_one_username(
    factory: Factory, live: LiveServer, http: aiohttp.ClientSession
) -> None:
    staff = await factory.user("staff", is_staff=True)
    key = await factory.token(staff)
    variables = {"input": {"username": "twin", "email": "twin@example.com"}}
    answers = await asyncio.gather(
        *(graphql(http, live.base_url, CREATE, variables, key) for _ in range(PARALLEL))
    )
    payloads = [data["createUser"] for data in answers]
    created = [payload for payload in payloads if payload["user"] is not None]
    assert created == [{"user": {"username": "twin"}, "userErrors": []}]
    error = {"field": "username", "message": USERNAME_TAKEN, "code": "VALIDATION_FAILED"}
    refused = [payload for payload in payloads if payload["user"] is None]
    assert refused == [{"user": None, "userErrors": [error]}] * (PARALLEL - 1)
    count = len(
        (await factory.session.scalars(select(User.id).where(User.username == "twin"))).all()
    )
    assert count == 1


@pytest.mark.parametrize(
    ("row", "violation"),
    [
        (lambda: User(username="taken", email="a@example.com"), ("users", ("username",))),
        (
            lambda: LoginFailure(username="taken", client_address="127.0.0.1", failures=1),
            ("login_failures", ("username", "client_address")),
        ),
    ],
    ids=["users.username", "login_failures"],
)
async def test_unique_violation_names_the_columns(
    session: AsyncSession, row: Any, violation: tuple[str, tuple[str, ...]]
) -> None:
    """The constraint an IntegrityError reports is read the same way on both databases."""
    session.add(row())
    await session.commit()
    session.add(row())
    with pytest.raises(IntegrityError) as raised:
        await session.flush()
    await session.rollback()
    assert unique_violation(raised.value) == UniqueViolation(*violation)


async def test_a_foreign_key_violation_is_not_a_unique_one(session: AsyncSession) -> None:
    session.add(AuthToken(key=generate_key(), user_id=123456, created=utcnow()))
    with pytest.raises(IntegrityError) as raised:
        await session.flush()
    await session.rollback()
    assert unique_violation(raised.value) is None


# --- tokens -----------------------------------------------------------------------------------


async def test_parallel_refreshes_leave_one_of_the_returned_keys_working(
    factory: Factory, live: LiveServer, http: aiohttp.ClientSession
) -> None:
    staff = await factory.user("staff", is_staff=True)
    staff_key = await factory.token(staff)
    bob = await factory.user("bob")
    old_key = await stored_key(factory, bob)

    async def rest() -> tuple[int, str | None]:
        async with http.post(
            f"{live.base_url}/api/users/{bob.uuid.hex}/refresh_token/",
            headers={"Authorization": f"Token {staff_key}"},
        ) as reply:
            return reply.status, (await reply.json()).get("token")

    async def through_graphql() -> tuple[int, str | None]:
        data = await graphql(http, live.base_url, REFRESH, {"uuid": bob.uuid.hex}, staff_key)
        return 200, data["refreshToken"]["token"]["token"]

    calls = [rest() if turn % 2 else through_graphql() for turn in range(PARALLEL)]
    answers = await asyncio.gather(*calls)
    assert [status for status, _ in answers] == [200] * PARALLEL
    keys = [key for _, key in answers]
    assert all(isinstance(key, str) and len(key) == 40 for key in keys)
    assert len(set(keys)) == PARALLEL and old_key not in keys  # each refresh made a new key
    final = await stored_key(factory, bob)
    assert final in keys
    assert await key_works(http, live.base_url, final)
    assert not await key_works(http, live.base_url, next(key for key in keys if key != final))


@pytest.mark.parametrize("token", ["none", "expired"])
async def test_parallel_logins_agree_on_one_working_key(
    factory: Factory, start_server: StartServer, http: aiohttp.ClientSession, token: str
) -> None:
    alice = await factory.user(
        "alice", password=PASSWORD, with_token=token != "none", token_lifetime=600
    )
    old_key = await stored_key(factory, alice)
    if token == "expired":
        stored = await factory.session.scalar(
            select(AuthToken).where(AuthToken.user_id == alice.id)
        )
        assert stored is not None
        stored.created = utcnow().replace(year=2020)
        await factory.session.commit()
    # Every login is counted before its password is checked, so a burst of correct logins
    # from one address needs a threshold above its size
    # (docs/hardening.md#login-lockout-under-parallel-attempts).
    base = start_server(env={"GQL_USERS_LOCKOUT_FAILURES": str(2 * PARALLEL)}).base_url
    credentials = {"username": "alice", "password": PASSWORD}

    async def rest() -> tuple[int, str | None]:
        async with http.post(base + "/api-auth/password/", json=credentials) as reply:
            return reply.status, (await reply.json()).get("token")

    async def through_graphql() -> tuple[int, str | None]:
        return 200, (await graphql(http, base, LOGIN, credentials))["login"]["token"]

    answers = await asyncio.gather(
        *(rest() if turn % 2 else through_graphql() for turn in range(PARALLEL))
    )
    assert [status for status, _ in answers] == [200] * PARALLEL
    keys = {key for _, key in answers}
    assert len(keys) == 1
    (key,) = keys
    assert key is not None and key != old_key
    assert await stored_key(factory, alice) == key
    assert await key_works(http, base, key)


# --- images -----------------------------------------------------------------------------------


async def test_parallel_image_uploads_leave_the_row_and_the_file_in_agreement(
    factory: Factory, live: LiveServer, http: aiohttp.ClientSession
) -> None:
    alice = await factory.user("alice")
    headers = await factory.auth(alice)
    uploads = [png(shade) if shade % 2 else GIF for shade in range(PARALLEL)]

    async def upload(data: bytes) -> int:
        form = aiohttp.FormData()
        form.add_field("image", data, filename="me", content_type="application/octet-stream")
        async with http.patch(
            f"{live.base_url}/api/users/{alice.uuid.hex}/", data=form, headers=headers
        ) as reply:
            return reply.status

    assert await asyncio.gather(*(upload(data) for data in uploads)) == [200] * PARALLEL
    image = await factory.session.scalar(
        select(User.image).where(User.id == alice.id).execution_options(populate_existing=True)
    )
    assert image is not None
    # Exactly one file is left, the row's; no replaced file and no temporary upload remains.
    assert media_files(live) == [live.workdir / "media" / image]
    async with http.get(f"{live.base_url}/api/users/{alice.uuid.hex}/", headers=headers) as reply:
        url = (await reply.json())["image"]
    async with http.get(url) as served:
        assert served.status == 200
        assert await served.read() in uploads
        assert await served.read() == (live.workdir / "media" / image).read_bytes()

    async with http.patch(
        f"{live.base_url}/api/users/{alice.uuid.hex}/", json={"image": None}, headers=headers
    ) as reply:
        assert reply.status == 200 and (await reply.json())["image"] is None
    assert media_files(live) == []  # removing the image removes its file, after the commit


async def test_uploads_racing_a_delete_get_200_or_404_and_leave_no_file(
    factory: Factory, live: LiveServer, http: aiohttp.ClientSession
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await factory.user("alice")
    headers = await factory.auth(staff)
    url = f"{live.base_url}/api/users/{alice.uuid.hex}/"

    async def upload(shade: int) -> int:
        form = aiohttp.FormData()
        form.add_field("image", png(shade), filename="me.png", content_type="image/png")
        form.add_field("organization", f"Org {shade}")
        async with http.patch(url, data=form, headers=headers) as reply:
            return reply.status

    async def delete() -> int:
        await asyncio.sleep(0.05)  # let some uploads commit first
        async with http.delete(url, headers=headers) as reply:
            return reply.status

    *uploads, deleted = await asyncio.gather(
        *(upload(shade) for shade in range(PARALLEL)), delete()
    )
    assert deleted == 204
    assert set(uploads) <= {200, 404}, uploads
    gone = await factory.session.scalar(
        select(User.id).where(User.id == alice.id).execution_options(populate_existing=True)
    )
    assert gone is None
    # Uploads before the delete had their file removed with the user; those after it had
    # theirs removed with their failed write.
    assert media_files(live) == []
