"""Tokens (docs/writes.md#reading-a-token, docs/writes.md#refreshing-a-token), login and logout
(docs/writes.md#login, docs/api-differences.md#lockout-counted-in-the-database), through each
transport."""

from __future__ import annotations

from uuid import uuid4

import pytest

from gql_users.accounts import validation as v
from gql_users.accounts.login import INVALID_CREDENTIALS, lockout_message
from gql_users.accounts.users import NO_ACTIVE_TOKEN
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.parity.graphql_transport import TOKEN_FIELDS
from tests.parity.outcome import (
    FORBIDDEN,
    NOT_FOUND,
    OK,
    UNAUTHENTICATED,
    denied,
    invalid,
)
from tests.parity.transport import Transport
from tests.world import PASSWORD, World

INVALID_TOKEN = denied("unauthenticated", "Invalid token.")
BAD_CREDENTIALS = denied("unauthenticated", INVALID_CREDENTIALS)


# --- token ---------------------------------------------------------------------------------------


async def test_staff_read_a_users_token(
    transport: Transport, world: World, factory: Factory
) -> None:
    token = (await transport.token(world.staff, world.member_a1.uuid)).expect_ok()
    assert set(token) == set(TOKEN_FIELDS)  # the REST UserAuthToken, both ways
    assert token["token"] == await factory.token(world.member_a1)
    assert (token["user_username"], token["user_token_lifetime"]) == ("member_a1", 3600)
    assert await transport.token(world.owner_a, uuid4()) == FORBIDDEN  # before the lookup
    assert await transport.token(world.staff, uuid4()) == NOT_FOUND
    assert await transport.token(world.member_a1, world.member_a1.uuid) == FORBIDDEN
    assert await transport.token(None, world.member_a1.uuid) == UNAUTHENTICATED
    assert await transport.logout(world.member_a1) == OK
    no_token = await transport.token(world.staff, world.member_a1.uuid)
    assert no_token == denied("not_found", NO_ACTIVE_TOKEN)


# --- refresh_token -----------------------------------------------------------------------------


async def test_staff_refresh_a_token_and_the_old_key_dies(
    transport: Transport, world: World, factory: Factory
) -> None:
    old_key = await factory.token(world.member_a1)
    token = (await transport.refresh_token(world.staff, world.member_a1.uuid)).expect_ok()
    assert token["token"] != old_key
    assert set(token) == set(TOKEN_FIELDS)  # the REST UserAuthToken, both ways
    assert (token["user_username"], token["user_first_name"], token["user_is_active"]) == (
        "member_a1",
        "Member",
        True,
    )
    assert await transport.me(old_key) == INVALID_TOKEN
    assert (await transport.me(token["token"])).expect_ok()["username"] == "member_a1"


async def test_refresh_creates_a_token_for_a_user_without_one(
    transport: Transport, world: World
) -> None:
    assert await transport.logout(world.loner) == OK
    token = (await transport.refresh_token(world.staff, world.loner.uuid)).expect_ok()
    assert (await transport.me(token["token"])).expect_ok()["username"] == "loner"


@pytest.mark.parametrize(
    ("caller", "target", "expected"),
    [
        (None, "member_a1", UNAUTHENTICATED),
        ("member_a1", "member_a1", FORBIDDEN),  # staff only, themselves included
        ("owner_a", "member_a1", FORBIDDEN),  # visible
        ("support", "loner", FORBIDDEN),
        ("owner_a", "member_b1", NOT_FOUND),  # invisible: the lookup comes first for a POST
    ],
)
async def test_refresh_denials(
    transport: Transport,
    world: World,
    factory: Factory,
    caller: str | None,
    target: str,
    expected: object,
) -> None:
    target_user = world.user(target)
    key = await factory.token(target_user)
    assert await transport.refresh_token(world.caller(caller), target_user.uuid) == expected
    assert (await transport.me(key)).expect_ok()["username"] == target


# --- login and logout --------------------------------------------------------------------------


async def test_login_gives_a_working_token(transport: Transport, world: World) -> None:
    key = (await transport.login("loner", PASSWORD)).expect_ok()
    assert (await transport.me(key)).expect_ok()["username"] == "loner"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("loner", "wrong password"),
        ("Loner", PASSWORD),  # exact match only
        ("inactive_a1", PASSWORD),  # inactive users are told nothing more
        ("owner_a", PASSWORD),  # a user without a password (API only) cannot log in
        ("nobody", PASSWORD),
    ],
)
async def test_login_refusals_say_nothing_about_the_account(
    transport: Transport, world: World, username: str, password: str
) -> None:
    assert await transport.login(username, password) == BAD_CREDENTIALS


@pytest.mark.parametrize(
    ("username", "password", "errors"),
    [
        (None, None, {"username": [v.REQUIRED], "password": [v.REQUIRED]}),
        ("loner", None, {"password": [v.REQUIRED]}),
        ("  ", PASSWORD, {"username": [v.BLANK]}),
        ("loner", "", {"password": [v.BLANK]}),
        ("loner", "x" * 129, {"password": [v.max_length_message(128)]}),
        ("lo\x00ner", PASSWORD, {"username": [v.NULL_CHARACTERS]}),  # a 500 on PostgreSQL once
        (None, "pass\x00word", {"username": [v.REQUIRED], "password": [v.NULL_CHARACTERS]}),
    ],
)
async def test_login_validation_errors(
    transport: Transport,
    world: World,
    username: str | None,
    password: str | None,
    errors: dict[str, list[str]],
) -> None:
    assert await transport.login(username, password) == invalid(errors)


async def test_login_locks_out_after_repeated_failures(
    transport: Transport, world: World, settings: Settings
) -> None:
    for _ in range(settings.lockout_failures):
        assert await transport.login("member_a1", "guess") == BAD_CREDENTIALS
    locked = denied("unauthenticated", lockout_message(settings))
    assert await transport.login("member_a1", PASSWORD) == locked
    assert (await transport.login("loner", PASSWORD)).ok  # per username


async def test_logout_kills_the_token(transport: Transport, world: World, factory: Factory) -> None:
    key = await factory.token(world.member_a1)
    assert await transport.logout(world.member_a1) == OK
    assert await transport.me(key) == INVALID_TOKEN
    assert await transport.logout(key) == INVALID_TOKEN
    assert await transport.logout(None) == UNAUTHENTICATED
