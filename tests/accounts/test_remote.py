"""pull_remote_user (B §3.13) against a real HTTP server on 127.0.0.1 standing in for eduTEAMS.

The fake checks what a real eduTEAMS checks (HTTP Basic client credentials, the refresh-token
grant, the bearer token) and counts its calls, so the token cache is observable from outside.
Users are read back through a fresh session, so assertions see the database, not the identity
map of the session the service used.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import BasicAuth, web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import undefer

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import (
    BadRequest,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.remote import (
    ACCESS_TOKEN_ERROR,
    NOT_MANAGED,
    SYNC_DISABLED,
    USERINFO_JSON_ERROR,
    EduteamsClient,
    _insert_eduteams_user,
    pull_remote_user,
)
from gql_users.db.engine import create_sessionmaker
from gql_users.db.models import AuthToken, User
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.pgserver import free_port

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


@pytest.fixture
async def eduteams() -> AsyncIterator[tuple[FakeEduteams, TestServer]]:
    fake = FakeEduteams()
    server = TestServer(fake.app(), host="127.0.0.1")  # a free port is chosen on start
    await server.start_server()
    yield fake, server
    await server.close()


@pytest.fixture
def fake(eduteams: tuple[FakeEduteams, TestServer]) -> FakeEduteams:
    return eduteams[0]


@pytest.fixture
def remote_settings(settings: Settings, eduteams: tuple[FakeEduteams, TestServer]) -> Settings:
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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def remote(remote_settings: Settings, clock: Clock) -> AsyncIterator[EduteamsClient]:
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
    await pull_remote_user(session, settings, client, Caller(user=caller), target, now=NOW)


async def load(engine: AsyncEngine, username: str) -> User | None:
    """The user as stored, read through a new session."""
    async with create_sessionmaker(engine)() as fresh:
        return await fresh.scalar(
            select(User).options(undefer(User.password)).where(User.username == username)
        )


async def token_count(engine: AsyncEngine, user: User) -> int:
    async with create_sessionmaker(engine)() as fresh:
        count = await fresh.scalar(
            select(func.count()).select_from(AuthToken).where(AuthToken.user_id == user.id)
        )
        return int(count or 0)


async def eduteams_user(factory: Factory, username: str = "alice", **fields: Any) -> User:
    fields.setdefault("registration_method", "eduteams")
    fields.setdefault("identity_source", "eduteams")
    return await factory.user(username, **fields)


# --- create, update, deactivate ----------------------------------------------------------------


async def test_update_copies_the_remote_profile(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, first_name="Old", email="old@example.com")
    fake.users["alice"] = ALICE_INFO

    await pull(session, remote_settings, remote, staff, alice)

    stored = await load(engine, "alice")
    assert stored is not None and stored.id == alice.id
    assert stored.email == "alice@uni.example"
    assert (stored.first_name, stored.last_name) == ("Alice", "Jürimäe")
    assert stored.query_field == "Alice Jurimae"
    assert stored.details == {"eduperson_assurance": ["https://refeds.org/assurance/IAP/medium"]}
    assert stored.affiliations == ["member@uni.example", "staff@uni.example"]
    assert stored.is_active is True
    assert stored.last_sync == NOW
    assert fake.requested_usernames == ["alice"]


async def test_a_new_sub_creates_an_eduteams_user(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)
    fake.users["alice"] = {**ALICE_INFO, "sub": "alice-new@eduteams.org"}

    await pull(session, remote_settings, remote, staff, alice)

    created = await load(engine, "alice-new@eduteams.org")
    assert created is not None
    assert created.registration_method == "eduteams"
    assert created.identity_source == "eduteams"
    assert created.notifications_enabled is False
    assert created.password == ""
    assert created.token_lifetime == remote_settings.token_lifetime == 3600
    assert created.slug == "alice-ne-1"
    assert created.email == "alice@uni.example"
    assert created.is_active is True and created.last_sync == NOW
    assert await token_count(engine, created) == 1
    assert (await load(engine, "alice")) is not None  # the target itself is left alone


async def test_voperson_id_names_the_user_when_sub_is_missing(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    info = {k: v for k, v in ALICE_INFO.items() if k not in ("sub", "mail")}
    fake.users["alice"] = {**info, "voperson_id": "alice"}

    await pull(session, remote_settings, remote, alice, alice)

    stored = await load(engine, "alice")
    assert stored is not None and stored.email == "ignored@example.com"


async def test_an_inactive_user_known_again_is_reactivated(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory, is_active=False)
    fake.users["alice"] = ALICE_INFO

    key = await factory.token(alice)
    await pull(session, remote_settings, remote, staff, alice)

    stored = await load(engine, "alice")
    assert stored is not None and stored.is_active is True
    assert await token_count(engine, alice) == 1
    async with create_sessionmaker(engine)() as fresh:  # the existing token was not replaced
        assert await fresh.scalar(select(AuthToken.key).where(AuthToken.user_id == alice.id)) == key


async def test_unknown_to_eduteams_deactivates_the_local_user(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)

    await pull(session, remote_settings, remote, staff, alice)

    stored = await load(engine, "alice")
    assert stored is not None
    assert stored.is_active is False
    assert stored.last_sync == NOW
    assert fake.userinfo_calls == 1


@pytest.mark.parametrize("username", ["bob+x@eduteams.org", "team/bob", "..", "bob%2F"])
async def test_username_is_quoted_as_one_path_segment(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings, username: str,
) -> None:
    bob = await eduteams_user(factory, username, email="old@example.com")
    fake.users[username] = {**ALICE_INFO, "sub": username}

    await pull(session, remote_settings, remote, bob, bob)

    assert fake.requested_usernames == [username]
    stored = await load(engine, username)
    assert stored is not None and stored.email == "alice@uni.example"


def test_userinfo_url_escapes_every_special_segment(remote: EduteamsClient) -> None:
    assert str(remote.userinfo_url("..")).endswith("/api/userinfo/%2E%2E")
    assert str(remote.userinfo_url("a/b@c")).endswith("/api/userinfo/a%2Fb%40c")


async def test_no_transaction_is_held_while_eduteams_answers(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    await session.scalar(select(User.id))  # the adapter has read the target: a transaction
    assert session.in_transaction()
    fake.users["alice"] = ALICE_INFO
    seen: list[bool] = []
    fake.while_answering = lambda: seen.append(session.in_transaction())
    await pull(session, remote_settings, remote, alice, alice)
    assert seen == [False]


async def test_a_lost_creation_race_finds_the_other_users_row(
    session: AsyncSession, factory: Factory, remote_settings: Settings
) -> None:
    existing = await eduteams_user(factory, "carol")
    user, created = await _insert_eduteams_user(session, remote_settings, "carol", NOW)
    assert (user.id, created) == (existing.id, False)


# --- who may, and when -------------------------------------------------------------------------


async def test_non_staff_on_another_user_is_denied(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    bob = await factory.user("bob")
    alice = await eduteams_user(factory)
    with pytest.raises(PermissionDenied):
        await pull(session, remote_settings, remote, bob, alice)
    assert fake.token_calls == fake.userinfo_calls == 0


async def test_anonymous_is_not_authenticated(
    session: AsyncSession, factory: Factory, remote: EduteamsClient, remote_settings: Settings
) -> None:
    alice = await eduteams_user(factory)
    with pytest.raises(NotAuthenticated):
        await pull(session, remote_settings, remote, None, alice)


async def test_non_staff_on_self_is_allowed(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory, registration_method="default")  # identity_source only
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, alice, alice)
    stored = await load(engine, "alice")
    assert stored is not None and stored.first_name == "Alice"


async def test_user_not_managed_by_eduteams_is_refused(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    local = await factory.user("local")
    with pytest.raises(ValidationFailed) as raised:
        await pull(session, remote_settings, remote, staff, local)
    assert raised.value.errors == [NOT_MANAGED]
    assert fake.token_calls == 0


async def test_disabled_sync_is_refused_before_any_remote_call(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    staff = await factory.user("staff", is_staff=True)
    alice = await eduteams_user(factory)
    disabled = remote_settings.model_copy(update={"eduteams_enabled": False})
    with pytest.raises(ValidationFailed) as raised:
        await pull(session, disabled, remote, staff, alice)
    assert raised.value.errors == [SYNC_DISABLED]
    assert fake.token_calls == fake.userinfo_calls == 0


# --- the access token --------------------------------------------------------------------------


async def test_the_access_token_is_reused_for_the_next_pull(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, alice, alice)
    await pull(session, remote_settings, remote, alice, alice)
    assert (fake.token_calls, fake.userinfo_calls) == (1, 2)


async def test_the_access_token_is_renewed_after_thirty_minutes(
    session: AsyncSession, factory: Factory, fake: FakeEduteams, clock: Clock,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, alice, alice)
    clock.now += 29 * 60
    await pull(session, remote_settings, remote, alice, alice)
    assert fake.token_calls == 1
    clock.now += 2 * 60
    await pull(session, remote_settings, remote, alice, alice)
    assert fake.token_calls == 2


async def test_a_rejected_access_token_is_replaced_once(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, alice, alice)
    fake.revoked.add("access-1")

    await pull(session, remote_settings, remote, alice, alice)

    assert (fake.token_calls, fake.userinfo_calls) == (2, 3)
    assert fake.requested_usernames == ["alice", "alice"]


async def test_concurrent_pulls_share_one_token_request(
    factory: Factory, fake: FakeEduteams, remote: EduteamsClient
) -> None:
    fake.users["alice"] = ALICE_INFO
    results = await asyncio.gather(*(remote.get_userinfo("alice") for _ in range(5)))
    assert all(result == ALICE_INFO for result in results)
    assert fake.token_calls == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"token_status": 500}, "The token endpoint answered HTTP 500."),
        ({"token_body": b"{not json"}, "The answer is not a JSON object."),
        ({"token_body": b'{"token_type": "Bearer"}'}, "The answer has no usable access_token."),
    ],
)
async def test_token_endpoint_failures_are_bad_requests(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings, change: dict[str, Any], reason: str,
) -> None:
    alice = await eduteams_user(factory, first_name="Kept")
    fake.users["alice"] = ALICE_INFO
    for name, value in change.items():
        setattr(fake, name, value)
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == f"{ACCESS_TOKEN_ERROR} {reason}"
    assert fake.userinfo_calls == 0
    stored = await load(engine, "alice")
    assert stored is not None and stored.first_name == "Kept"


async def test_wrong_client_credentials_never_show_the_secrets(
    session: AsyncSession, factory: Factory, fake: FakeEduteams, remote_settings: Settings
) -> None:
    alice = await eduteams_user(factory)
    wrong = remote_settings.model_copy(update={"eduteams_secret": "wrong-secret-value"})
    client = EduteamsClient(wrong)
    try:
        with pytest.raises(BadRequest) as raised:
            await pull(session, wrong, client, alice, alice)
    finally:
        await client.close()
    assert raised.value.detail == f"{ACCESS_TOKEN_ERROR} The token endpoint answered HTTP 401."
    assert fake.token_calls == 1
    for secret in ("wrong-secret-value", REFRESH_TOKEN, CLIENT_ID):
        assert secret not in raised.value.detail


async def test_missing_refresh_token_is_explained(
    session: AsyncSession, factory: Factory, fake: FakeEduteams, remote_settings: Settings
) -> None:
    alice = await eduteams_user(factory)
    unset = remote_settings.model_copy(update={"eduteams_refresh_token": ""})
    client = EduteamsClient(unset)
    with pytest.raises(BadRequest, match="No refresh token is configured"):
        await pull(session, unset, client, alice, alice)
    await client.close()
    assert fake.token_calls == 0


async def test_an_unreachable_eduteams_is_a_bad_request(
    session: AsyncSession, factory: Factory, remote_settings: Settings
) -> None:
    alice = await eduteams_user(factory)
    port = free_port()  # bound then closed: nothing listens there
    closed = remote_settings.model_copy(
        update={
            "eduteams_token_url": f"http://127.0.0.1:{port}/OIDC/token",
            "eduteams_userinfo_url": f"http://127.0.0.1:{port}/api/userinfo",
        }
    )
    client = EduteamsClient(closed)
    try:
        with pytest.raises(BadRequest) as raised:
            await pull(session, closed, client, alice, alice)
    finally:
        await client.close()
    assert raised.value.detail == f"{ACCESS_TOKEN_ERROR} eduTEAMS could not be reached."


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eduteams_token_url": "http://127.0.0.1:notaport/token"}, "is not valid"),
        ({"eduteams_token_url": "no-scheme"}, "is not valid"),
        ({"eduteams_client_id": "with:colon"}, "cannot be sent with HTTP Basic"),
        ({"eduteams_secret": "\u20ac-not-latin-1"}, "credentials are not usable"),
    ],
)
async def test_misconfiguration_is_a_bad_request(
    session: AsyncSession, factory: Factory, remote_settings: Settings,
    change: dict[str, str], reason: str,
) -> None:
    alice = await eduteams_user(factory)
    misconfigured = remote_settings.model_copy(update=change)
    client = EduteamsClient(misconfigured)
    try:
        with pytest.raises(BadRequest, match=f"^{ACCESS_TOKEN_ERROR} .*{reason}"):
            await pull(session, misconfigured, client, alice, alice)
    finally:
        await client.close()


# --- userinfo failures -------------------------------------------------------------------------


async def test_userinfo_error_status_is_a_bad_request(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.userinfo_status = 500
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    url = f"{remote_settings.eduteams_userinfo_url}/alice"
    assert raised.value.detail == f"Unable to get user info for {url}"
    stored = await load(engine, "alice")
    assert stored is not None and stored.is_active is True


async def test_userinfo_timeout_is_a_bad_request(
    session: AsyncSession, factory: Factory, fake: FakeEduteams, remote_settings: Settings
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = ALICE_INFO
    fake.userinfo_delay = 1.0
    impatient = remote_settings.model_copy(update={"eduteams_timeout": 0.2})
    client = EduteamsClient(impatient)
    try:
        with pytest.raises(BadRequest, match="^Unable to get user info for http://127.0.0.1"):
            await pull(session, impatient, client, alice, alice)
    finally:
        await client.close()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'["a", "list"]', b'"a string"', b"[" * 100_000, b"\xff\xfe\xfa"],
    ids=["broken", "list", "string", "deep", "not-utf8"],
)
async def test_userinfo_that_is_not_a_json_object_is_a_bad_request(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings, body: bytes,
) -> None:
    alice = await eduteams_user(factory)
    fake.userinfo_body = body
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == USERINFO_JSON_ERROR


async def test_an_oversized_userinfo_answer_is_refused(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.userinfo_body = json.dumps({**ALICE_INFO, "padding": "x" * 2_000_000}).encode()
    with pytest.raises(BadRequest, match="^Unable to get user info for "):
        await pull(session, remote_settings, remote, alice, alice)


# --- remote values are checked before they are stored ------------------------------------------

LONG = "n" * 150


@pytest.mark.parametrize(
    ("info", "claim"),
    [
        ({"sub": 42}, "sub"),
        ({"sub": "x" * 129}, "sub"),
        ({"sub": "with space"}, "sub"),
        ({"sub": " alice"}, "sub"),
        ({"sub": "", "voperson_id": ["a"]}, "voperson_id"),
        ({"given_name": {"a": 1}}, "given_name"),
        ({"family_name": "nul\u0000byte"}, "family_name"),
        ({"given_name": "\ud800"}, "given_name"),  # a lone surrogate cannot be stored
        ({"mail": [f"{LONG * 3}@x.org"]}, "mail"),
        ({"mail": [7]}, "mail"),
        ({"email": False, "mail": []}, "email"),
        ({"voperson_external_affiliation": ["ok", 3]}, "voperson_external_affiliation"),
        ({"voperson_external_affiliation": ["x" * 256]}, "voperson_external_affiliation"),
        ({"eduperson_assurance": ["a"] * 101}, "eduperson_assurance"),
        ({"eduperson_assurance": {"a": 1}}, "eduperson_assurance"),
    ],
)
async def test_unusable_remote_values_are_refused_and_nothing_is_written(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings, info: dict[str, Any], claim: str,
) -> None:
    alice = await eduteams_user(factory, first_name="Kept")
    fake.users["alice"] = {**ALICE_INFO, **info}
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == f"eduTEAMS user info has an invalid {claim} value."
    stored = await load(engine, "alice")
    assert stored is not None and stored.first_name == "Kept"


async def test_userinfo_without_a_username_is_refused(
    session: AsyncSession, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = {**ALICE_INFO, "sub": None, "voperson_id": ""}
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == "eduTEAMS user info has neither a sub nor a voperson_id."


async def test_long_names_are_cut_and_single_values_accepted(
    session: AsyncSession, engine: AsyncEngine, factory: Factory, fake: FakeEduteams,
    remote: EduteamsClient, remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = {
        "sub": "alice",
        "mail": "single@uni.example",
        "given_name": LONG,
        "family_name": None,
        "voperson_external_affiliation": "member@uni.example",
    }
    await pull(session, remote_settings, remote, alice, alice)
    stored = await load(engine, "alice")
    assert stored is not None
    assert stored.first_name == LONG[:100] and stored.last_name == ""
    assert stored.email == "single@uni.example"
    assert stored.affiliations == ["member@uni.example"]
    assert stored.details == {"eduperson_assurance": []}
