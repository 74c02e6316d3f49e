"""The eduTEAMS client (gql_users.eduteams): URL quoting, the access-token cache, the 401 retry
and every failure, against the real HTTP stand-in of tests/eduteams/support.py.

Most tests go through ``pull_remote_user``, so they assert what callers see: the core's
``BadRequest`` carrying the client's message, and nothing written to the database.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.errors import BadRequest
from gql_users.eduteams import EduteamsUnavailable
from gql_users.eduteams.client import ACCESS_TOKEN_ERROR, USERINFO_JSON_ERROR, EduteamsClient
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.eduteams.support import (
    ALICE_INFO,
    CLIENT_ID,
    REFRESH_TOKEN,
    Clock,
    FakeEduteams,
    clock_fixture,  # noqa: F401 (a fixture: pytest finds it by name)
    eduteams_fixture,  # noqa: F401
    eduteams_user,
    fake_fixture,  # noqa: F401
    load,
    pull,
    remote_fixture,  # noqa: F401
    remote_settings_fixture,  # noqa: F401
)
from tests.pgserver import free_port


async def test_the_client_raises_its_own_error_with_the_callers_message(
    fake: FakeEduteams, remote: EduteamsClient
) -> None:
    fake.token_status = 500
    with pytest.raises(EduteamsUnavailable) as raised:
        await remote.get_userinfo("alice")
    assert not isinstance(raised.value, BadRequest)
    assert raised.value.detail == f"{ACCESS_TOKEN_ERROR} The token endpoint answered HTTP 500."


# --- the username in the userinfo URL ----------------------------------------------------------


@pytest.mark.parametrize("username", ["bob+x@eduteams.org", "team/bob", "..", "bob%2F"])
async def test_username_is_quoted_as_one_path_segment(
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
    username: str,
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


# --- the access token --------------------------------------------------------------------------


async def test_the_access_token_is_reused_for_the_next_pull(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.users["alice"] = ALICE_INFO
    await pull(session, remote_settings, remote, alice, alice)
    await pull(session, remote_settings, remote, alice, alice)
    assert (fake.token_calls, fake.userinfo_calls) == (1, 2)


async def test_the_access_token_is_renewed_after_thirty_minutes(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    clock: Clock,
    remote: EduteamsClient,
    remote_settings: Settings,
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
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
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
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
    change: dict[str, Any],
    reason: str,
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
    session: AsyncSession,
    factory: Factory,
    remote_settings: Settings,
    change: dict[str, str],
    reason: str,
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
    session: AsyncSession,
    engine: AsyncEngine,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
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
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
    body: bytes,
) -> None:
    alice = await eduteams_user(factory)
    fake.userinfo_body = body
    with pytest.raises(BadRequest) as raised:
        await pull(session, remote_settings, remote, alice, alice)
    assert raised.value.detail == USERINFO_JSON_ERROR


async def test_an_oversized_userinfo_answer_is_refused(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
) -> None:
    alice = await eduteams_user(factory)
    fake.userinfo_body = json.dumps({**ALICE_INFO, "padding": "x" * 2_000_000}).encode()
    with pytest.raises(BadRequest, match="^Unable to get user info for "):
        await pull(session, remote_settings, remote, alice, alice)
