"""The order in which each operation of ``gql_users.accounts.operations`` refuses a request.

Every operation is run by the callers that must fail, on a real database: anonymous (401),
another user whom the caller can see and one whom they cannot (403 or 404, depending on
whether Waldur refuses before or after the lookup), the user themselves where only staff may
act, staff on a uuid that names nobody (404), and staff with bad input (400). A refused request
changes nothing, and its input is read only once every check before it has passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts import operations
from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import (
    AccountsError,
    ListingRefused,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.listing import ensure_can_list_users
from gql_users.accounts.operations import UserChanges
from gql_users.db.models import AuthToken, EmailChangeRequest, User
from gql_users.settings import Settings
from tests.conftest import Factory


class Reader:
    """An ``InputReader`` that remembers whether the operation asked for its input."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.was_read = False

    async def __call__(self) -> Any:
        self.was_read = True
        return self.value


class NoEduteams:
    """eduTEAMS must not be asked: every case here is refused before the remote call."""

    async def get_userinfo(self, username: str) -> dict[str, Any] | None:
        raise AssertionError(f"eduTEAMS was asked about {username}")


Run = Callable[[AsyncSession, Settings, Caller, uuid.UUID, Reader], Awaitable[object]]

OPERATIONS: dict[str, Run] = {
    "create_user": lambda session, settings, caller, _, reader: operations.create_user(
        session, settings, caller, reader
    ),
    "update_user": lambda session, settings, caller, target, reader: operations.update_user(
        session, settings, caller, target, reader
    ),
    "delete_user": lambda session, settings, caller, target, _: operations.delete_user(
        session, settings, caller, target
    ),
    "read_token": lambda session, _, caller, target, __: operations.read_token(
        session, caller, target
    ),
    "refresh_token": lambda session, _, caller, target, __: operations.refresh_token(
        session, caller, target
    ),
    "change_email": lambda session, settings, caller, target, reader: operations.change_email(
        session, settings, caller, target, reader
    ),
    "cancel_change_email": lambda session, _, caller, target, __: operations.cancel_change_email(
        session, caller, target
    ),
    "change_password": lambda session, settings, caller, target, reader: operations.change_password(
        session, settings, caller, target, reader
    ),
    "pull_remote_user": lambda session, settings, caller, target, _: operations.pull_remote_user(
        session, settings, NoEduteams(), caller, target
    ),
}

BAD_INPUT: dict[str, Any] = {
    "create_user": UserChanges({"username": "Not Valid!", "email": "new@example.com"}),
    "update_user": UserChanges({"phone_number": "not a number", "agree_with_policy": True}),
    "change_email": "not an address",
    "change_password": "",
    "pull_remote_user": None,  # the target is a local user, whom eduTEAMS does not manage
}
"""What each operation refuses as input, when staff send it about an existing user."""


@dataclass(frozen=True)
class Refusals:
    """The error each kind of caller gets; None where the caller may act."""

    other_visible: type[AccountsError]
    other_hidden: type[AccountsError]
    own: type[AccountsError] | None
    missing: type[AccountsError] | None = NotFound


STAFF_ONLY_BEFORE_LOOKUP = Refusals(PermissionDenied, PermissionDenied, PermissionDenied)
OWN_OR_STAFF = Refusals(PermissionDenied, NotFound, None)
STAFF_ONLY_AFTER_LOOKUP = Refusals(PermissionDenied, NotFound, PermissionDenied)

REFUSALS: dict[str, Refusals] = {
    "create_user": Refusals(PermissionDenied, PermissionDenied, PermissionDenied, None),
    "update_user": OWN_OR_STAFF,
    "delete_user": STAFF_ONLY_BEFORE_LOOKUP,
    "read_token": STAFF_ONLY_BEFORE_LOOKUP,
    "refresh_token": STAFF_ONLY_AFTER_LOOKUP,
    "change_email": OWN_OR_STAFF,
    "cancel_change_email": OWN_OR_STAFF,
    "change_password": STAFF_ONLY_AFTER_LOOKUP,
    "pull_remote_user": OWN_OR_STAFF,
}


@dataclass
class World:
    staff: User
    member: User
    colleague: User
    """Shares a customer with ``member``, who can therefore see them."""
    stranger: User
    """Nobody but staff and support can see them."""


@pytest.fixture
async def world(factory: Factory) -> World:
    staff = await factory.user("staff", is_staff=True)
    member = await factory.user("member", password="Member-pass-1")
    colleague = await factory.user("colleague", password="Colleague-pass-1")
    stranger = await factory.user("stranger")
    customer = await factory.customer()
    for user in (member, colleague):
        await factory.grant(user, "CUSTOMER.OWNER", customer)
    return World(staff, member, colleague, stranger)


async def snapshot(session: AsyncSession) -> list[tuple[Any, ...]]:
    """Every user's stored state that an operation could change, and the pending requests."""
    users = await session.execute(
        select(User.username, User.email, User.password, User.is_active, AuthToken.key)
        .outerjoin(AuthToken, AuthToken.user_id == User.id)
        .order_by(User.username)
        .execution_options(populate_existing=True)
    )
    requests = await session.scalar(select(func.count()).select_from(EmailChangeRequest))
    return [*users.tuples(), (requests,)]


CASES = [
    (name, case, expected)
    for name, refusals in REFUSALS.items()
    for case, expected in [
        ("anonymous", NotAuthenticated),
        ("other_visible", refusals.other_visible),
        ("other_hidden", refusals.other_hidden),
        ("own", refusals.own),
        ("missing", refusals.missing),
        ("bad_input", ValidationFailed if name in BAD_INPUT else None),
    ]
    if expected is not None
]


@pytest.mark.parametrize(("name", "case", "expected"), CASES)
async def test_each_operation_refuses_in_the_documented_order(
    session: AsyncSession,
    settings: Settings,
    world: World,
    name: str,
    case: str,
    expected: type[AccountsError],
) -> None:
    caller, target = {
        "anonymous": (ANONYMOUS, world.colleague.uuid),
        "other_visible": (Caller(user=world.member), world.colleague.uuid),
        "other_hidden": (Caller(user=world.member), world.stranger.uuid),
        "own": (Caller(user=world.member), world.member.uuid),
        "missing": (Caller(user=world.staff), uuid.uuid4()),
        "bad_input": (Caller(user=world.staff), world.colleague.uuid),
    }[case]
    reader = Reader(BAD_INPUT.get(name))
    before = await snapshot(session)

    with pytest.raises(AccountsError) as raised:
        await OPERATIONS[name](session, settings, caller, target, reader)

    assert type(raised.value) is expected, raised.value
    assert reader.was_read is (case == "bad_input" and name != "pull_remote_user")
    assert await snapshot(session) == before


@pytest.mark.parametrize("code", [None, "", "not a code", 42])
async def test_confirm_email_refuses_a_missing_or_malformed_code(
    session: AsyncSession, settings: Settings, world: World, code: object
) -> None:
    before = await snapshot(session)
    with pytest.raises(ValidationFailed):
        await operations.confirm_email(session, settings, code)
    assert await snapshot(session) == before


async def test_the_identity_manager_refusal_to_list_is_its_own_error(
    session: AsyncSession, factory: Factory
) -> None:
    """REST renders this 403 differently from the others, so it is a type, not a message."""
    manager = await factory.user("manager", is_identity_manager=True)
    with pytest.raises(ListingRefused):
        ensure_can_list_users(Caller(user=manager))
    ensure_can_list_users(Caller(user=await factory.user("plain")))
