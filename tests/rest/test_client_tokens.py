"""Tokens and passwords through the generated client (docs/writes.md#login,
docs/writes.md#reading-a-token, docs/writes.md#refreshing-a-token, docs/writes.md#password-change,
docs/api-differences.md#documented-status-codes, docs/api-differences.md#no-server-errors,
docs/api-differences.md#a-password-policy).

``refresh_token`` answers 200 (the published contract, not Waldur's 201), the old key stops
working at once, and a password set by staff logs in through the client's own login function.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from waldur_api_client.api.api_auth import api_auth_password
from waldur_api_client.api.users import (
    users_change_password,
    users_me_retrieve,
    users_refresh_token,
    users_token_retrieve,
)
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    AuthTokenChallenge,
    CoreAuthToken,
    ObtainAuthTokenRequest,
    PasswordChangeRequest,
    UserAuthToken,
)

from tests.conftest import Factory
from tests.rest.client_support import error_of

NEW_PASSWORD = "correct-horse-battery"


async def test_staff_reads_a_users_token(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    user = await factory.user("holder", first_name="Hol", last_name="Der", token_lifetime=None)
    client = api(await factory.token(staff))
    response = await users_token_retrieve.asyncio_detailed(uuid=user.uuid, client=client)
    token = response.parsed
    assert isinstance(token, UserAuthToken)
    assert (token.user_username, token.user_first_name, token.user_last_name) == (
        "holder", "Hol", "Der",
    )  # fmt: skip
    assert token.user_is_active is True and token.user_token_lifetime is None
    assert abs(token.created - datetime.now(UTC)) < timedelta(minutes=1)
    # The 8.1.3 model has no token field; the key still travels (the 8.1.2 schema requires it).
    assert token.additional_properties["token"] == await factory.token(user)
    assert json.loads(response.content)["token"] == await factory.token(user)


async def test_refresh_token_answers_200_and_the_old_key_is_rejected(
    api: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    user = await factory.user("rotated")
    old_key = await factory.token(user)
    assert (await users_me_retrieve.asyncio(client=api(old_key))).username == "rotated"

    staff_client = api(await factory.token(staff))
    response = await users_refresh_token.asyncio_detailed(uuid=user.uuid, client=staff_client)
    assert response.status_code == 200
    refreshed = response.parsed
    assert isinstance(refreshed, UserAuthToken) and refreshed.user_username == "rotated"
    new_key = refreshed.additional_properties["token"]
    assert new_key != old_key and len(new_key) == 40

    with pytest.raises(UnexpectedStatus) as rejected:
        await users_me_retrieve.asyncio(client=api(old_key))
    assert rejected.value.status_code == 401
    assert error_of(rejected.value) == {"detail": "Invalid token."}
    me = await users_me_retrieve.asyncio(client=api(new_key))
    assert me.username == "rotated" and me.token == new_key

    read_back = await users_token_retrieve.asyncio(uuid=user.uuid.hex, client=staff_client)  # type: ignore[arg-type]
    assert read_back.additional_properties["token"] == new_key


async def test_staff_refreshing_their_own_token_ends_their_current_key(
    api: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    old_key = await factory.token(staff)
    refreshed = await users_refresh_token.asyncio(uuid=staff.uuid, client=api(old_key))
    new_key = refreshed.additional_properties["token"]
    with pytest.raises(UnexpectedStatus) as rejected:
        await users_token_retrieve.asyncio(uuid=staff.uuid, client=api(old_key))
    assert rejected.value.status_code == 401
    token = await users_token_retrieve.asyncio(uuid=staff.uuid, client=api(new_key))
    assert token.additional_properties["token"] == new_key


async def test_refresh_token_creates_one_for_a_user_without_a_token(
    api: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    tokenless = await factory.user("tokenless", with_token=False)
    client = api(await factory.token(staff))
    with pytest.raises(UnexpectedStatus) as missing:
        await users_token_retrieve.asyncio(uuid=tokenless.uuid, client=client)
    assert missing.value.status_code == 404
    assert error_of(missing.value) == {"detail": "User has no active token."}
    created = await users_refresh_token.asyncio(uuid=tokenless.uuid, client=client)
    assert created.user_username == "tokenless"
    me = await users_me_retrieve.asyncio(client=api(created.additional_properties["token"]))
    assert me.username == "tokenless"


async def test_change_password_then_login_with_the_client(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    user = await factory.user("walker", email="walker@example.com")
    client = api(await factory.token(staff))
    anonymous = api()

    before = await api_auth_password.asyncio(
        client=anonymous, body=ObtainAuthTokenRequest(username="walker", password=NEW_PASSWORD)
    )
    assert isinstance(before, AuthTokenChallenge)  # API-created users have no usable password

    response = await users_change_password.asyncio_detailed(
        uuid=user.uuid, client=client, body=PasswordChangeRequest(new_password=NEW_PASSWORD)
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "password set"}

    login = await api_auth_password.asyncio_detailed(
        client=anonymous, body=ObtainAuthTokenRequest(username="walker", password=NEW_PASSWORD)
    )
    assert login.status_code == 200 and isinstance(login.parsed, CoreAuthToken)
    me = await users_me_retrieve.asyncio(client=api(login.parsed.token))
    assert me.username == "walker" and me.token == login.parsed.token

    wrong = await api_auth_password.asyncio_detailed(
        client=anonymous, body=ObtainAuthTokenRequest(username="walker", password="not-it-at-all")
    )
    assert wrong.status_code == 401
    assert isinstance(wrong.parsed, AuthTokenChallenge)
    assert wrong.parsed.detail == "Invalid username/password."


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "too short"),
        ("12345678901", "entirely numeric"),
        ("WalkerBot", "similar to the username"),
        ("walkerbot@EXAMPLE.com", "similar to the email"),
    ],
)
async def test_change_password_refuses_weak_passwords(
    api: Any, factory: Factory, password: str, reason: str
) -> None:
    """docs/api-differences.md#a-password-policy: at least 8 characters, not all digits, not the
    username or email."""
    staff = await factory.user("staff", is_staff=True)
    user = await factory.user("walkerbot", email="walkerbot@example.com")
    with pytest.raises(UnexpectedStatus) as weak:
        await users_change_password.asyncio_detailed(
            uuid=user.uuid,
            client=api(await factory.token(staff)),
            body=PasswordChangeRequest(new_password=password),
        )
    assert weak.value.status_code == 400
    body = error_of(weak.value)
    assert list(body) == ["new_password"] and reason in " ".join(body["new_password"])
