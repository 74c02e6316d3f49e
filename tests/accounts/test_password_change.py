"""Password policy (docs/api-differences.md#a-password-policy) and the staff-only password change
(docs/writes.md#password-change, scenarios 75-76)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import (
    AuthenticationFailed,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.login import login
from gql_users.accounts.operations import already_read
from gql_users.accounts.operations import change_password as change_password_operation
from gql_users.accounts.password_change import set_password
from gql_users.accounts.passwords import password_problems, validate_password, verify_password
from gql_users.db.models import User
from gql_users.settings import Settings
from tests.conftest import Factory

POLICY = Settings()
ALICE = User(username="alice", email="Alice.Smith@example.com")


# --- the policy ----------------------------------------------------------------------------------


def test_a_good_password_passes() -> None:
    validate_password("correct horse battery", ALICE, POLICY)


def test_a_short_password_is_rejected_with_the_minimum_in_the_message() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_password("abc12", ALICE, POLICY)
    assert raised.value.errors == {
        "new_password": ["This password is too short. It must contain at least 8 characters."]
    }


def test_every_problem_is_reported_at_once() -> None:
    assert password_problems("1234", ALICE, POLICY) == [
        "This password is too short. It must contain at least 8 characters.",
        "This password is entirely numeric.",
    ]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("ALICE", "The password is too similar to the username."),
        ("alice.smith@EXAMPLE.com", "The password is too similar to the email address."),
        ("alice.SMITH", "The password is too similar to the email address."),
    ],
)
def test_a_password_equal_to_the_username_or_email_ignoring_case_is_rejected(
    password: str, message: str
) -> None:
    relaxed = POLICY.model_copy(update={"password_min_length": 1})
    assert password_problems(password, ALICE, relaxed) == [message]


def test_the_rules_can_be_switched_off_and_the_length_configured() -> None:
    lenient = POLICY.model_copy(
        update={
            "password_min_length": 1,
            "password_reject_numeric": False,
            "password_reject_similar": False,
        }
    )
    validate_password("1", ALICE, lenient)
    validate_password("alice", ALICE, lenient)
    assert password_problems("", ALICE, lenient) == [
        "This password is too short. It must contain at least 1 character."
    ]
    strict = POLICY.model_copy(update={"password_min_length": 12})
    assert password_problems("elevenchars", ALICE, strict) == [
        "This password is too short. It must contain at least 12 characters."
    ]


def test_a_user_without_email_is_only_compared_with_the_username() -> None:
    assert password_problems("whatever-long", User(username="bob", email=""), POLICY) == []


@given(st.text(alphabet="0123456789", min_size=1, max_size=64))
def test_every_all_digit_password_is_rejected(password: str) -> None:
    assert "This password is entirely numeric." in password_problems(password, ALICE, POLICY)


@given(
    st.text(min_size=8, max_size=40).filter(
        lambda text: (
            not text.isdigit()
            and text.casefold() not in {"alice", "alice.smith", "alice.smith@example.com"}
        )
    )
)
def test_every_long_enough_non_numeric_dissimilar_password_is_accepted(password: str) -> None:
    assert password_problems(password, ALICE, POLICY) == []


# --- change_password -----------------------------------------------------------------------------


async def change_password(
    session: AsyncSession, settings: Settings, caller: Caller, target: User, new_password: object
) -> None:
    """The whole operation, as both APIs call it."""
    await change_password_operation(
        session, settings, caller, target.uuid, already_read(new_password)
    )


async def stored_hash(session: AsyncSession, user: User) -> str | None:
    return await session.scalar(select(User.password).where(User.id == user.id))


async def test_staff_can_change_password(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target", password="Old-password-1")
    old_hash = await stored_hash(session, target)

    await change_password(session, settings, Caller(user=staff), target, "password")

    new_hash = await stored_hash(session, target)
    assert new_hash != old_hash and new_hash is not None
    assert new_hash.startswith("$argon2id$")
    assert await verify_password(new_hash, "password")
    assert target.__dict__.get("password") != new_hash  # not copied onto the loaded object


async def test_a_deleted_target_is_not_found(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    ghost = User(id=987654, username="ghost", email="ghost@example.com")

    with pytest.raises(NotFound):
        await set_password(session, settings, ghost, "Changed-1234", staff_user=staff)
    assert staff.username == "staff"  # the session was not expired by the failure


async def test_after_a_change_login_works_with_the_new_password_only(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target", password="Old-password-1")

    await change_password(session, settings, Caller(user=staff), target, "New-password-2")

    token = await login(session, settings, "target", "New-password-2", "127.0.0.1")
    assert token.user_id == target.id
    with pytest.raises(AuthenticationFailed):
        await login(session, settings, "target", "Old-password-1", "127.0.0.1")


@pytest.mark.parametrize("kind", ["global_support", "user"])
async def test_user_can_not_change_password(
    session: AsyncSession, settings: Settings, factory: Factory, kind: str
) -> None:
    """Support on another user, and a user on themselves: both forbidden."""
    caller = await factory.user("caller", is_support=kind == "global_support", password="Mine-1234")
    target = caller if kind == "user" else await factory.user("target", password="Theirs-1234")
    before = await stored_hash(session, target)

    with pytest.raises(PermissionDenied):
        await change_password(session, settings, Caller(user=caller), target, "Changed-1234")

    assert await stored_hash(session, target) == before


async def test_anonymous_callers_cannot_change_a_password(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    target = await factory.user("target")
    with pytest.raises(NotAuthenticated):
        await change_password(session, settings, ANONYMOUS, target, "Changed-1234")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "This field is required."),
        ("", "This field may not be blank."),
        ("        ", "This field may not be blank."),
        (12345678, "Not a valid string."),
        ("x" * 129, "Ensure this field has no more than 128 characters."),
        ("12345678", "This password is entirely numeric."),
        ("TARGET", "The password is too similar to the username."),
    ],
)
async def test_bad_new_passwords_are_field_errors_and_change_nothing(
    session: AsyncSession, settings: Settings, factory: Factory, value: object, message: str
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target", password="Old-password-1")
    before = await stored_hash(session, target)

    with pytest.raises(ValidationFailed) as raised:
        await change_password(session, settings, Caller(user=staff), target, value)

    assert message in raised.value.errors["new_password"]  # type: ignore[call-overload]
    assert await stored_hash(session, target) == before


async def test_surrounding_spaces_are_kept_because_login_keeps_them(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target")

    await change_password(session, settings, Caller(user=staff), target, "  spaced out  ")

    await login(session, settings, "target", "  spaced out  ", "127.0.0.1")
    with pytest.raises(AuthenticationFailed):
        await login(session, settings, "target", "spaced out", "127.0.0.1")


async def test_the_change_is_logged_without_the_password(
    session: AsyncSession, settings: Settings, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target")

    with caplog.at_level(logging.DEBUG, logger="gql_users"):
        await change_password(session, settings, Caller(user=staff), target, "Sekrit-pass-77")

    assert "password of user target set by staff user staff" in caplog.text
    assert "Sekrit-pass-77" not in caplog.text
    assert "$argon2" not in caplog.text
