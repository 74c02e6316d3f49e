"""The email change (docs/writes.md#email-change), the staff password change
(docs/writes.md#password-change, docs/api-differences.md#a-password-policy) and the eduTEAMS pull
(docs/writes.md#eduteams-sync), through each transport."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import select, update

from gql_users.accounts import validation as v
from gql_users.accounts.email_change import (
    CODE_REQUIRED,
    EMAIL_NOT_CHANGEABLE,
    REQUEST_EXPIRED,
    REQUEST_NOT_FOUND,
)
from gql_users.accounts.login import INVALID_CREDENTIALS
from gql_users.accounts.remote import NOT_MANAGED, SYNC_DISABLED
from gql_users.db.models import EmailChangeRequest, User, utcnow
from gql_users.mail import read_outbox
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.mail.helpers import confirmation_code
from tests.parity.conftest import MakeTransport
from tests.parity.outcome import FORBIDDEN, NOT_FOUND, OK, UNAUTHENTICATED, denied, invalid
from tests.parity.transport import Transport
from tests.world import PASSWORD, World

TOO_SHORT = "This password is too short. It must contain at least 8 characters."


async def pending_code(factory: Factory, user: User) -> str:
    """The confirmation code of the user's pending request (what the mail carries)."""
    code = await factory.session.scalar(
        select(EmailChangeRequest.uuid).where(EmailChangeRequest.user_id == user.id)
    )
    assert code is not None, f"{user.username} has no pending email change"
    return code.hex


# --- change_email, cancel_change_email, confirm_email -----------------------------------------


async def test_the_email_change_flow(
    transport: Transport, world: World, factory: Factory, settings: Settings
) -> None:
    member = world.member_a1
    assert await transport.change_email(member, member.uuid, "not an address") != OK
    assert read_outbox(settings.mail_dir) == []  # a refused change sends nothing
    assert await transport.change_email(member, member.uuid, "new.a1@example.com") == OK
    me = (await transport.me(member)).expect_ok()
    assert (me["email"], me["requested_email"]) == ("member_a1@example.com", "new.a1@example.com")
    [mail] = read_outbox(settings.mail_dir)  # the link goes to the new address
    assert mail["To"] == "new.a1@example.com"
    code = confirmation_code(mail)
    assert code == await pending_code(factory, member)
    assert await transport.confirm_email(None, code) == OK  # the code is the credential
    me = (await transport.me(member)).expect_ok()
    assert me["email"] == "new.a1@example.com"
    assert "requested_email" not in me
    assert await transport.confirm_email(None, code) == denied("not_found", REQUEST_NOT_FOUND)


async def test_staff_change_anyones_email_and_a_confirmation_clears_rival_requests(
    transport: Transport, world: World, factory: Factory
) -> None:
    shared = "shared@example.com"
    assert await transport.change_email(world.staff, world.owner_b.uuid, shared) == OK
    assert await transport.change_email(world.loner, world.loner.uuid, shared) == OK
    rival_code = await pending_code(factory, world.owner_b)
    assert (
        await transport.confirm_email(world.member_a1, await pending_code(factory, world.loner))
        == OK
    )
    assert await transport.confirm_email(None, rival_code) == denied("not_found", REQUEST_NOT_FOUND)
    owner_b = (await transport.get_user(world.staff, world.owner_b.uuid)).expect_ok()
    assert owner_b["email"] == "owner_b@example.com"


@pytest.mark.parametrize(
    ("caller", "target", "expected"),
    [
        (None, "loner", UNAUTHENTICATED),
        ("owner_a", "member_a1", FORBIDDEN),
        ("support", "loner", FORBIDDEN),
        ("owner_a", "member_b1", NOT_FOUND),
    ],
)
async def test_change_and_cancel_email_denials(
    transport: Transport, world: World, caller: str | None, target: str, expected: object
) -> None:
    target_user = world.user(target)
    who = world.caller(caller)
    assert await transport.change_email(who, target_user.uuid, "x@example.com") == expected
    assert await transport.change_email(who, target_user.uuid, "not an address") == expected
    assert await transport.change_email(target_user, target_user.uuid, "mine@example.com") == OK
    assert await transport.cancel_change_email(who, target_user.uuid) == expected
    still = (await transport.me(target_user)).expect_ok()
    assert still["requested_email"] == "mine@example.com"


@pytest.mark.parametrize(
    ("email", "errors"),
    [
        (None, {"email": [v.REQUIRED]}),
        ("", {"email": [v.BLANK]}),
        ("not an address", {"email": [v.INVALID_EMAIL]}),
    ],
)
async def test_change_email_validation_errors(
    transport: Transport, world: World, email: str | None, errors: dict[str, list[str]]
) -> None:
    assert await transport.change_email(world.loner, world.loner.uuid, email) == invalid(errors)


async def test_an_identity_provider_that_owns_the_email_refuses_the_change(
    transport_with: MakeTransport, world: World
) -> None:
    transport = await transport_with(local_idp_protected_fields=["email"])
    outcome = await transport.change_email(world.loner, world.loner.uuid, "x@example.com")
    assert outcome == invalid({None: [EMAIL_NOT_CHANGEABLE]})


async def test_cancel_says_whether_there_was_a_request(transport: Transport, world: World) -> None:
    loner = world.loner
    assert (await transport.cancel_change_email(loner, loner.uuid)).expect_ok() is False
    assert await transport.change_email(loner, loner.uuid, "new@example.com") == OK
    assert (await transport.cancel_change_email(world.staff, loner.uuid)).expect_ok() is True
    assert "requested_email" not in (await transport.me(loner)).expect_ok()
    assert (await transport.cancel_change_email(loner, loner.uuid)).expect_ok() is False


@pytest.mark.parametrize("code", [None, "", "not a code", 12345678])
async def test_confirm_needs_a_code(transport: Transport, world: World, code: object) -> None:
    if code == 12345678 and transport.name == "graphql":
        code = "12345678"  # code is a String in GraphQL; the type system refuses a number
    assert await transport.confirm_email(None, code) == invalid({None: [CODE_REQUIRED]})


async def test_confirm_refuses_unknown_and_expired_codes(
    transport: Transport, world: World, factory: Factory
) -> None:
    unknown = await transport.confirm_email(None, uuid4().hex)
    assert unknown == denied("not_found", REQUEST_NOT_FOUND)
    assert await transport.change_email(world.loner, world.loner.uuid, "late@example.com") == OK
    await factory.session.execute(
        update(EmailChangeRequest).values(created=utcnow() - timedelta(days=2))
    )
    await factory.session.commit()
    code = await pending_code(factory, world.loner)
    assert await transport.confirm_email(None, code) == invalid({None: [REQUEST_EXPIRED]})
    assert await pending_code(factory, world.loner) == code  # kept, as Waldur does


# --- change_password ---------------------------------------------------------------------------


async def test_staff_set_a_password_that_login_then_accepts(
    transport: Transport, world: World
) -> None:
    member = world.member_a1
    assert await transport.change_password(world.staff, member.uuid, "a new passphrase") == OK
    assert (await transport.login("member_a1", "a new passphrase")).ok
    old = await transport.login("member_a1", PASSWORD)
    assert old == denied("unauthenticated", INVALID_CREDENTIALS)
    assert (await transport.me(member)).ok  # tokens survive a password change


@pytest.mark.parametrize(
    ("caller", "target", "expected"),
    [
        (None, "member_a1", UNAUTHENTICATED),
        ("member_a1", "member_a1", FORBIDDEN),  # staff only, themselves included
        ("owner_a", "member_a1", FORBIDDEN),
        ("support", "loner", FORBIDDEN),
        ("owner_a", "member_b1", NOT_FOUND),
    ],
)
async def test_change_password_denials(
    transport: Transport, world: World, caller: str | None, target: str, expected: object
) -> None:
    target_user = world.user(target)
    for new_password in ("s3cret pass", None):  # refused before the body is looked at
        outcome = await transport.change_password(
            world.caller(caller), target_user.uuid, new_password
        )
        assert outcome == expected
    if target in ("member_a1", "loner"):
        assert (await transport.login(target, PASSWORD)).ok


@pytest.mark.parametrize(
    ("new_password", "problems"),
    [
        (None, [v.REQUIRED]),
        ("   ", [v.BLANK]),
        ("short", [TOO_SHORT]),
        ("1234567890", ["This password is entirely numeric."]),
        ("1234", [TOO_SHORT, "This password is entirely numeric."]),
        ("MEMBER_A1", ["The password is too similar to the username."]),
        ("member_a1@example.com", ["The password is too similar to the email address."]),
        ("x" * 129, [v.max_length_message(128)]),
        ("nul \x00 inside", [v.NULL_CHARACTERS]),  # login could never accept it
    ],
)
async def test_the_password_policy(
    transport: Transport, world: World, new_password: str | None, problems: list[str]
) -> None:
    outcome = await transport.change_password(world.staff, world.member_a1.uuid, new_password)
    assert outcome == invalid({"new_password": problems})


# --- pull_remote_user --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "target", "expected"),
    [
        ("remote", "remote", invalid({None: [SYNC_DISABLED]})),
        ("staff", "remote", invalid({None: [SYNC_DISABLED]})),
        ("loner", "loner", invalid({None: [NOT_MANAGED]})),
        ("staff", "owner_a", invalid({None: [NOT_MANAGED]})),
        (None, "remote", UNAUTHENTICATED),
        ("owner_b", "remote", FORBIDDEN),  # visible, not themselves
        ("owner_a", "remote", NOT_FOUND),  # invisible
    ],
)
async def test_pull_remote_user_checks(
    transport: Transport, world: World, caller: str | None, target: str, expected: object
) -> None:
    target_user = world.user(target)
    assert await transport.pull_remote_user(world.caller(caller), target_user.uuid) == expected
