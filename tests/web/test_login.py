"""POST /api-auth/password/ through REST: body encodings and statuses, validation, the lockout
window and counter, token reuse. Which credentials are refused, and that the refusal tells
nothing about the account, is tested through both APIs in tests/parity/test_tokens_and_login.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from gql_users.accounts.passwords import hash_password
from gql_users.db.models import AuthToken, LoginFailure, User, utcnow
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.live_server import LiveServer

LOGIN = "/api-auth/password/"
LOCKED = {"detail": "Username is locked out. Try in 10 minutes."}
INVALID = {"detail": "Invalid username/password."}


async def stored_token(factory: Factory, user: User) -> AuthToken | None:
    return await factory.session.scalar(
        select(AuthToken)
        .where(AuthToken.user_id == user.id)
        .execution_options(populate_existing=True)
    )


async def test_user_can_authenticate_with_token(client: Any, factory: Factory) -> None:
    await factory.user("alice", password="correct horse")
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert response.status == 200
    body = await response.json()
    assert list(body) == ["token"] and len(body["token"]) == 40
    logout = await client.post(
        "/api-auth/logout/", headers={"Authorization": f"Token {body['token']}"}
    )
    assert logout.status == 204


async def test_login_accepts_a_form_post(client: Any, factory: Factory) -> None:
    await factory.user("alice", password="correct horse")
    response = await client.post(LOGIN, data={"username": "alice", "password": "correct horse"})
    assert response.status == 200


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        ({"username": "", "password": "x"}, {"username": ["This field may not be blank."]}),
        ({"username": "a", "password": 5}, {"password": ["Not a valid string."]}),
        (
            {"username": "a" * 129, "password": "x"},
            {"username": ["Ensure this field has no more than 128 characters."]},
        ),
    ],
    ids=["missing", "blank", "not-a-string", "too-long"],
)
async def test_login_validation_errors_are_400(
    client: Any, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = await client.post(LOGIN, json=body)
    assert response.status == 400
    assert await response.json() == errors


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
async def test_login_with_a_malformed_body_is_400(client: Any, raw: bytes) -> None:
    response = await client.post(LOGIN, data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "detail" in await response.json()


async def test_login_with_a_stale_bad_token_header_is_401(client: Any, factory: Factory) -> None:
    await factory.user("alice", password="correct horse")
    response = await client.post(
        LOGIN,
        json={"username": "alice", "password": "correct horse"},
        headers={"Authorization": "Token " + "f" * 40},
    )
    assert response.status == 401
    assert await response.json() == {"detail": "Invalid token."}


async def test_account_is_blocked_after_five_failed_attempts(client: Any, factory: Factory) -> None:
    await factory.user("alice", password="correct horse")
    answers = []
    for _ in range(5):
        response = await client.post(LOGIN, json={"username": "alice", "password": "wrong"})
        assert response.status == 401
        answers.append(await response.json())
    assert answers[:4] == [INVALID] * 4
    assert answers[4] == LOCKED
    right = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert right.status == 401
    assert await right.json() == LOCKED


async def test_lockout_ends_after_the_window(client: Any, factory: Factory) -> None:
    await factory.user("alice", password="correct horse")
    for _ in range(4):
        await client.post(LOGIN, json={"username": "alice", "password": "wrong"})
    row = await factory.session.scalar(select(LoginFailure).where(LoginFailure.username == "alice"))
    assert row is not None and row.failures == 4
    row.last_failure = utcnow() - timedelta(seconds=601)
    await factory.session.commit()
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert response.status == 200


async def test_success_clears_the_failure_counter(client: Any, factory: Factory) -> None:
    await factory.user("alice", password="correct horse")
    for _ in range(3):
        await client.post(LOGIN, json={"username": "alice", "password": "wrong"})
    assert (
        await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    ).status == 200
    for _ in range(4):
        response = await client.post(LOGIN, json={"username": "alice", "password": "wrong"})
        assert await response.json() == INVALID


async def test_not_expired_token_creation_time_is_updated_on_authentication(
    client: Any, factory: Factory
) -> None:
    user = await factory.user("alice", password="correct horse")
    token = await stored_token(factory, user)
    assert token is not None
    token.created = utcnow() - timedelta(seconds=600)
    await factory.session.commit()
    key, old_created = token.key, token.created
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert (await response.json())["token"] == key
    refreshed = await stored_token(factory, user)
    assert refreshed is not None and refreshed.created > old_created


async def test_expired_token_is_recreated_on_successful_authentication(
    client: Any, factory: Factory
) -> None:
    user = await factory.user("alice", password="correct horse", token_lifetime=60)
    token = await stored_token(factory, user)
    assert token is not None
    token.created = utcnow() - timedelta(seconds=120)
    await factory.session.commit()
    old_key = token.key
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    new_key = (await response.json())["token"]
    assert new_key != old_key
    assert (
        await client.post("/api-auth/logout/", headers={"Authorization": f"Token {new_key}"})
    ).status == 204


async def test_token_never_expires_if_token_lifetime_is_none(client: Any, factory: Factory) -> None:
    user = await factory.user("alice", password="correct horse", token_lifetime=None)
    token = await stored_token(factory, user)
    assert token is not None
    token.created = utcnow() - timedelta(days=365)
    await factory.session.commit()
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert (await response.json())["token"] == token.key


async def test_login_creates_a_token_for_a_user_without_one(client: Any, factory: Factory) -> None:
    user = await factory.user("alice", password="correct horse", with_token=False)
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert response.status == 200
    token = await stored_token(factory, user)
    assert token is not None and token.key == (await response.json())["token"]


async def test_login_sets_last_login(client: Any, factory: Factory) -> None:
    user = await factory.user("alice", password="correct horse")
    before = utcnow() - timedelta(seconds=1)
    await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    last_login = await factory.session.scalar(
        select(User.last_login).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert last_login is not None and last_login >= before


async def test_password_hashes_are_argon2id(factory: Factory) -> None:
    assert hash_password("x").startswith("$argon2id$")


# --- the counter is shared by two server processes on one database ---------------------------


async def test_lockout_counter_is_shared_by_two_server_processes(
    settings: Settings, factory: Factory, tmp_path: Path
) -> None:
    await factory.user("alice", password="correct horse")
    servers = [
        LiveServer(tmp_path / name, database_url=settings.database_url) for name in ("a", "b")
    ]
    try:
        for server in servers:
            server.workdir.mkdir()
            server.start()
        bases = [server.base_url for server in servers]
        async with aiohttp.ClientSession() as http:
            answers = []
            for attempt in range(5):  # alternate between the two processes
                async with http.post(
                    bases[attempt % 2] + LOGIN, json={"username": "alice", "password": "wrong"}
                ) as response:
                    assert response.status == 401
                    answers.append(await response.json())
            assert answers[:4] == [INVALID] * 4
            assert answers[4] == LOCKED
            async with http.post(
                bases[1] + LOGIN, json={"username": "alice", "password": "correct horse"}
            ) as response:
                assert await response.json() == LOCKED
    finally:
        for server in servers:
            server.stop()
