"""Waldur's UserCreateTest (73-76) through the REST shim, and the departures from Waldur
(docs/api-differences.md) on create, ``token``, ``refresh_token`` and ``change_password``: what the
REST wire shows. Who may read or refresh a token, and what the token carries, is tested through both
APIs in tests/parity/test_tokens_and_login.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gql_users.db.models import AuthToken, User, utcnow
from tests.conftest import Factory
from tests.rest.scenario_helpers import (
    PERMISSION_DENIED,
    detail_path,
    json_of,
    user_url,
)

LIST = "/api/users/"
LOGIN = "/api-auth/password/"


@pytest.fixture
async def staff(factory: Factory) -> User:
    return await factory.user("staff", is_staff=True)


async def created_user(factory: Factory, username: str) -> User | None:
    return await factory.session.scalar(
        select(User).where(User.username == username).execution_options(populate_existing=True)
    )


# --- UserCreateTest (73-76) --------------------------------------------------------------------


async def test_staff_can_create_user(client: Any, factory: Factory, staff: User) -> None:
    payload = {
        "username": "john",
        "email": "john@example.com",
        "first_name": "John",
        "last_name": "Doe",
    }
    response = await client.post(LIST, json=payload, headers=await factory.auth(staff))
    assert response.status == 201
    body = await json_of(response)
    user = await created_user(factory, "john")
    assert user is not None
    assert response.headers["Location"] == user_url(user) == body["url"]
    assert body["full_name"] == "John Doe"
    assert body["agreement_date"] is None and user.agreement_date is None
    assert body["slug"] == "john-1"
    assert body["token_expires_at"] is not None
    assert "token" not in body  # the new user is not the caller
    assert await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))


@pytest.mark.parametrize("caller_kind", ["global_support", "user"])
async def test_user_can_not_create_user(client: Any, factory: Factory, caller_kind: str) -> None:
    caller = await factory.user("caller", is_support=caller_kind == "global_support")
    payload = {"username": "john", "email": "john@example.com"}
    response = await client.post(LIST, json=payload, headers=await factory.auth(caller))
    assert response.status == 403
    assert await json_of(response) == PERMISSION_DENIED
    assert await created_user(factory, "john") is None


async def test_staff_can_change_password(client: Any, factory: Factory, staff: User) -> None:
    """Waldur's test sets "password"; gql-users adds a password policy
    (docs/api-differences.md#a-password-policy), so a compliant one is used."""
    user = await factory.user("target", password="original-secret")
    response = await client.post(
        detail_path(user, "change_password"),
        json={"new_password": "a new secret"},
        headers=await factory.auth(staff),
    )
    assert response.status == 200
    assert await json_of(response) == {"status": "password set"}
    login = await client.post(LOGIN, json={"username": "target", "password": "a new secret"})
    assert login.status == 200
    old = await client.post(LOGIN, json={"username": "target", "password": "original-secret"})
    assert old.status == 401


async def test_non_staff_change_password_is_403_even_with_a_malformed_body(
    client: Any, factory: Factory
) -> None:
    """DRF checks permissions before it parses the body, so the refusal comes first."""
    caller = await factory.user("caller")
    response = await client.post(
        detail_path(caller, "change_password"),
        data=b"[not json",
        headers=await factory.auth(caller) | {"Content-Type": "application/json"},
    )
    assert response.status == 403
    assert await json_of(response) == PERMISSION_DENIED


@pytest.mark.parametrize(
    "weak",
    ["x1y2z3", "target"],
    ids=["too-short", "same-as-username"],
)
async def test_password_policy_on_change_password_is_a_field_error(
    client: Any, factory: Factory, staff: User, weak: str
) -> None:
    """The REST wire of a refusal (the whole policy is tested through both APIs in
    tests/parity/test_email_password_remote.py): the password is never echoed, the old one
    still works."""
    target = await factory.user("target", password="unchanged-secret")
    response = await client.post(
        detail_path(target, "change_password"),
        json={"new_password": weak},
        headers=await factory.auth(staff),
    )
    assert response.status == 400
    body = await json_of(response)
    assert list(body) == ["new_password"] and body["new_password"]
    assert all(isinstance(message, str) and message for message in body["new_password"])
    assert weak not in str(body)  # the password itself is never echoed
    login = await client.post(LOGIN, json={"username": "target", "password": "unchanged-secret"})
    assert login.status == 200


@pytest.mark.parametrize("body", [{}, {"new_password": ""}, {"new_password": 12345678}])
async def test_change_password_needs_a_non_blank_string(
    client: Any, factory: Factory, staff: User, body: dict[str, Any]
) -> None:
    target = await factory.user("target")
    response = await client.post(
        detail_path(target, "change_password"), json=body, headers=await factory.auth(staff)
    )
    assert response.status == 400
    assert list(await json_of(response)) == ["new_password"]


# --- create: validation and departures from Waldur ---------------------------------------------


async def test_username_clash_with_an_inactive_user_is_400_not_500(
    client: Any, factory: Factory, staff: User
) -> None:
    """docs/api-differences.md#no-server-errors: Waldur probably crashes; a Waldur client expects
    the field error."""
    await factory.user("sleeper", is_active=False)
    response = await client.post(
        LIST,
        json={"username": "sleeper", "email": "s@example.com"},
        headers=await factory.auth(staff),
    )
    assert response.status == 400
    assert await json_of(response) == {"username": ["user with this username already exists."]}


async def test_username_clash_with_an_active_user_is_400(
    client: Any, factory: Factory, staff: User
) -> None:
    response = await client.post(
        LIST,
        json={"username": "staff", "email": "s@example.com"},
        headers=await factory.auth(staff),
    )
    assert response.status == 400
    assert await json_of(response) == {"username": ["user with this username already exists."]}


async def test_create_validates_required_and_formats(
    client: Any, factory: Factory, staff: User
) -> None:
    headers = await factory.auth(staff)
    response = await client.post(LIST, json={}, headers=headers)
    assert response.status == 400
    assert await json_of(response) == {
        "username": ["This field is required."],
        "email": ["This field is required."],
    }
    response = await client.post(
        LIST,
        json={"username": "Bad Name", "email": "nope", "phone_number": "call me"},
        headers=headers,
    )
    assert await json_of(response) == {
        "username": ["Enter a valid username."],
        "email": ["Enter a valid email address."],
        "phone_number": ["Invalid phone number format."],
    }


@pytest.mark.parametrize(("given", "stored"), [(7200, 7200), (None, None)])
async def test_token_lifetime_on_create_is_honoured(
    client: Any, factory: Factory, staff: User, given: int | None, stored: int | None
) -> None:
    """docs/api-differences.md#token-lifetime-on-create: Waldur overwrites it with the default;
    gql-users keeps what staff asked for."""
    payload = {"username": "timed", "email": "t@example.com", "token_lifetime": given}
    response = await client.post(LIST, json=payload, headers=await factory.auth(staff))
    assert response.status == 201
    user = await created_user(factory, "timed")
    assert user is not None and user.token_lifetime == stored
    expires = (await json_of(response))["token_expires_at"]
    assert (expires is None) is (stored is None)


async def test_token_lifetime_on_create_defaults_to_the_setting(
    client: Any, factory: Factory, staff: User
) -> None:
    payload = {"username": "timed", "email": "t@example.com"}
    assert (await client.post(LIST, json=payload, headers=await factory.auth(staff))).status == 201
    user = await created_user(factory, "timed")
    assert user is not None and user.token_lifetime == 3600


async def test_create_with_a_form_body(client: Any, factory: Factory, staff: User) -> None:
    data = {
        "username": "formed",
        "email": "f@example.com",
        "is_support": "true",
        "token_lifetime": "120",
    }
    response = await client.post(LIST, data=data, headers=await factory.auth(staff))
    assert response.status == 201
    body = await json_of(response)
    assert body["is_support"] is True
    user = await created_user(factory, "formed")
    assert user is not None and user.token_lifetime == 120


# --- token and refresh_token -------------------------------------------------------------------
# (docs/api-differences.md#documented-status-codes, docs/api-differences.md#no-server-errors)


async def test_refresh_token_replaces_the_key_and_answers_200(
    client: Any, factory: Factory, staff: User
) -> None:
    user = await factory.user("refreshed")
    old_key = await factory.token(user)
    response = await client.post(
        detail_path(user, "refresh_token"), headers=await factory.auth(staff)
    )
    # docs/api-differences.md#documented-status-codes: the published 200, not Waldur's 201
    assert response.status == 200
    new_key = (await json_of(response))["token"]
    assert new_key != old_key and len(new_key) == 40
    old = await client.get("/api/users/me/", headers={"Authorization": f"Token {old_key}"})
    assert old.status == 401 and await json_of(old) == {"detail": "Invalid token."}
    new = await client.get("/api/users/me/", headers={"Authorization": f"Token {new_key}"})
    assert new.status == 200 and (await json_of(new))["username"] == "refreshed"


async def test_token_is_returned_even_when_expired(
    client: Any, factory: Factory, staff: User
) -> None:
    user = await factory.user("expired")
    token = await factory.session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))
    assert token is not None
    token.created = utcnow() - timedelta(days=2)
    await factory.session.commit()
    response = await client.get(detail_path(user, "token"), headers=await factory.auth(staff))
    assert response.status == 200
    assert (await json_of(response))["token"] == token.key
