"""A real HTTP server on 127.0.0.1 standing in for eduTEAMS, and the fixtures around it.

The fake checks what a real eduTEAMS checks (HTTP Basic client credentials, the refresh-token
grant, the bearer token) and counts its calls, so the token cache is observable from outside.
Users are read back through a fresh session, so assertions see the database, not the identity
map of the session the service used.

Shared by tests/eduteams/test_client.py and tests/accounts/test_remote.py, which import the
fixtures by their ``*_fixture`` names (pytest registers them under ``name=``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import BasicAuth, web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import undefer

from gql_users.accounts.callers import Caller
from gql_users.accounts.operations import pull_remote_user
from gql_users.db.engine import create_sessionmaker
from gql_users.db.models import User
from gql_users.eduteams.client import EduteamsClient
from gql_users.settings import Settings
from tests.conftest import Factory

CLIENT_ID = "gql-users-client"
SECRET = "very-secret-client-password"
REFRESH_TOKEN = "refresh-token-for-gql-users"
NOW = datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)

ALICE_INFO = {
    "sub": "alice",
    "mail": ["alice@uni.example", "alice@home.example"],
    "email": "ignored@example.com",
    "given_name": "Alice",
    "family_name": "Jürimäe",
    "eduperson_assurance": ["https://refeds.org/assurance/IAP/medium"],
    "voperson_external_affiliation": ["member@uni.example", "staff@uni.example"],
}


@dataclass
class FakeEduteams:
    """The eduTEAMS token and userinfo endpoints, with knobs to make them misbehave."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_calls: int = 0
    userinfo_calls: int = 0
    requested_usernames: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    token_status: int = 200
    token_body: bytes | None = None
    userinfo_status: int | None = None
    userinfo_body: bytes | None = None
    userinfo_delay: float = 0.0
    while_answering: Callable[[], None] | None = None

    async def token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        try:
            credentials = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return web.json_response({"error": "invalid_client"}, status=401)
        form = await request.post()
        if (credentials.login, credentials.password) != (CLIENT_ID, SECRET):
            return web.json_response({"error": "invalid_client"}, status=401)
        expected_form = {
            "grant_type": "refresh_token",
            "refresh_token": REFRESH_TOKEN,
            "scope": "openid",
        }
        if dict(form) != expected_form:
            return web.json_response({"error": "invalid_grant"}, status=400)
        if self.token_status != 200:
            return web.json_response({"error": "server_error"}, status=self.token_status)
        if self.token_body is not None:
            return web.Response(body=self.token_body, content_type="application/json")
        access_token = f"access-{len(self.issued) + 1}"
        self.issued.append(access_token)
        return web.json_response(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600}
        )

    async def userinfo(self, request: web.Request) -> web.Response:
        self.userinfo_calls += 1
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.revoked:
            return web.json_response({"error": "invalid_token"}, status=401)
        if self.userinfo_delay:
            await asyncio.sleep(self.userinfo_delay)
        username = request.match_info["username"]
        self.requested_usernames.append(username)
        if self.while_answering is not None:
            self.while_answering()
        if self.userinfo_status is not None:
            return web.json_response({"error": "boom"}, status=self.userinfo_status)
        if self.userinfo_body is not None:
            return web.Response(body=self.userinfo_body, content_type="application/json")
        if username not in self.users:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(self.users[username])

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/OIDC/token", self.token)
        app.router.add_get("/api/userinfo/{username}", self.userinfo)
        return app


@pytest.fixture(name="eduteams")
async def eduteams_fixture() -> AsyncIterator[tuple[FakeEduteams, TestServer]]:
    fake = FakeEduteams()
    server = TestServer(fake.app(), host="127.0.0.1")  # a free port is chosen on start
    await server.start_server()
    yield fake, server
    await server.close()


@pytest.fixture(name="fake")
def fake_fixture(eduteams: tuple[FakeEduteams, TestServer]) -> FakeEduteams:
    return eduteams[0]


@pytest.fixture(name="remote_settings")
def remote_settings_fixture(
    settings: Settings, eduteams: tuple[FakeEduteams, TestServer]
) -> Settings:
    server = eduteams[1]
    return settings.model_copy(
        update={
            "eduteams_enabled": True,
            "eduteams_token_url": str(server.make_url("/OIDC/token")),
            "eduteams_userinfo_url": str(server.make_url("/api/userinfo")),
            "eduteams_client_id": CLIENT_ID,
            "eduteams_secret": SECRET,
            "eduteams_refresh_token": REFRESH_TOKEN,
            "eduteams_timeout": 2.0,
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="remote")
async def remote_fixture(remote_settings: Settings, clock: Clock) -> AsyncIterator[EduteamsClient]:
    client = EduteamsClient(remote_settings, clock=clock)
    yield client
    await client.close()


async def pull(
    session: AsyncSession,
    settings: Settings,
    client: EduteamsClient,
    caller: User | None,
    target: User,
) -> None:
    await pull_remote_user(session, settings, client, Caller(user=caller), target.uuid, now=NOW)


async def load(engine: AsyncEngine, username: str) -> User | None:
    """The user as stored, read through a new session."""
    async with create_sessionmaker(engine)() as fresh:
        return await fresh.scalar(
            select(User).options(undefer(User.password)).where(User.username == username)
        )


async def eduteams_user(factory: Factory, username: str = "alice", **fields: Any) -> User:
    fields.setdefault("registration_method", "eduteams")
    fields.setdefault("identity_source", "eduteams")
    return await factory.user(username, **fields)
