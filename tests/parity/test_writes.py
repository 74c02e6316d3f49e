"""Create, update and delete (docs/writes.md#create, docs/writes.md#update, docs/writes.md#delete),
through each transport: who may, what is written, what is silently ignored, and the validation
errors, field by field."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from gql_users.accounts import validation as v
from gql_users.accounts.users import MUST_AGREE, USERNAME_TAKEN
from tests.conftest import Factory
from tests.parity.conftest import MakeTransport
from tests.parity.outcome import FORBIDDEN, NOT_FOUND, OK, UNAUTHENTICATED, invalid
from tests.parity.transport import Transport
from tests.world import World

NEWBIE = {"username": "newbie", "email": "newbie@example.com"}

# --- create ------------------------------------------------------------------------------------


async def test_staff_create_a_user(transport: Transport, world: World) -> None:
    data = {**NEWBIE, "first_name": "New", "last_name": "Bie", "is_support": True}
    created = (await transport.create_user(world.staff, data)).expect_ok()
    assert created["username"] == "newbie"
    assert created["full_name"] == "New Bie"
    assert (created["is_staff"], created["is_support"], created["is_active"]) == (
        False,
        True,
        True,
    )
    assert created["slug"].startswith("newbie")
    assert created["identity_provider_name"] == "Local DB"
    assert created["permissions"] == []
    # Not the caller: no token fields; create never stamps the policy agreement
    # (docs/writes.md#create).
    assert {"token", "token_lifetime", "agreement_date"}.isdisjoint(created)
    fetched = (await transport.list_users(world.staff, {"username": "newbie"})).expect_ok()
    assert [user["uuid"] for user in fetched] == [created["uuid"]]


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (None, UNAUTHENTICATED),
        ("loner", FORBIDDEN),
        ("owner_a", FORBIDDEN),
        ("support", FORBIDDEN),
        ("identity_manager", FORBIDDEN),
    ],
)
async def test_only_staff_create(
    transport: Transport, world: World, caller: str | None, expected: object
) -> None:
    assert await transport.create_user(world.caller(caller), NEWBIE) == expected
    assert await transport.create_user(world.caller(caller), {}) == expected  # before the body
    staff_view = await transport.list_users(world.staff, {"username": "newbie"})
    assert staff_view.expect_ok() == []


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({}, {"username": [v.REQUIRED], "email": [v.REQUIRED]}),
        ({"username": None, "email": None}, {"username": [v.REQUIRED], "email": [v.REQUIRED]}),
        ({**NEWBIE, "username": "Not Valid"}, {"username": [v.INVALID_USERNAME]}),
        ({**NEWBIE, "username": "x" * 129}, {"username": [v.max_length_message(128)]}),
        ({**NEWBIE, "username": "inactive_a1"}, {"username": [USERNAME_TAKEN]}),
        ({**NEWBIE, "email": "not an address"}, {"email": [v.INVALID_EMAIL]}),
        ({**NEWBIE, "email": "  "}, {"email": [v.BLANK]}),
        (
            {**NEWBIE, "token_lifetime": 59},
            {"token_lifetime": ["Ensure this value is greater than or equal to 60."]},
        ),
        ({**NEWBIE, "phone_number": "call me"}, {"phone_number": [v.INVALID_PHONE]}),
        ({**NEWBIE, "slug": "no spaces"}, {"slug": [v.INVALID_SLUG]}),
        ({**NEWBIE, "first_name": None}, {"first_name": ["This field may not be null."]}),
        (
            {"username": "Bad!", "email": "bad", "first_name": "x" * 101},
            {
                "username": [v.INVALID_USERNAME],
                "email": [v.INVALID_EMAIL],
                "first_name": [v.max_length_message(100)],
            },
        ),
    ],
)
async def test_create_validation_errors(
    transport: Transport, world: World, data: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    assert await transport.create_user(world.staff, data) == invalid(errors)


# --- update ------------------------------------------------------------------------------------


async def test_a_user_updates_their_profile_and_privileged_fields_are_ignored(
    transport: Transport, world: World
) -> None:
    data = {
        "first_name": "Lonely",
        "job_title": "Hermit",
        "is_staff": True,  # staff only
        "description": "hacked",  # staff only
        "slug": "hacked",  # staff only
        "username": "renamed",  # read-only on update
        "email": "new@example.com",  # never changed here (change_email)
    }
    updated = (await transport.update_user(world.loner, world.loner.uuid, data)).expect_ok()
    assert (updated["full_name"], updated["job_title"]) == ("Lonely Person", "Hermit")
    assert "is_staff" not in updated  # still hidden from a normal user, even on themselves
    stored = (await transport.get_user(world.staff, world.loner.uuid)).expect_ok()
    assert (stored["username"], stored["email"]) == ("loner", "loner@example.com")
    assert (stored["is_staff"], stored["description"], stored["slug"]) == (False, "about loner", "")


async def test_create_ignores_the_policy_flag_and_honours_token_lifetime(
    transport: Transport, world: World
) -> None:
    data = {**NEWBIE, "agree_with_policy": True, "token_lifetime": None}
    created = (await transport.create_user(world.staff, data)).expect_ok()
    assert "agreement_date" not in created  # docs/writes.md#create: create never stamps it
    # no lifetime, no expiry (docs/api-differences.md#token-lifetime-on-create)
    assert "token_expires_at" not in created


async def test_a_user_may_drop_their_token_expiry(transport: Transport, world: World) -> None:
    me = world.identity_manager  # identity managers edit themselves as anyone does
    outcome = await transport.update_user(me, me.uuid, {"token_lifetime": None})
    updated = outcome.expect_ok()
    assert {"token_lifetime", "token_expires_at"}.isdisjoint(updated)
    assert "token" in updated


@pytest.mark.parametrize(
    ("overrides", "kept"),
    [
        # The caller's registration method protects the details (docs/writes.md#writable-fields).
        ({"protect_user_details_for_registration_methods": ["default"]}, "job_title"),
        # The target's identity provider owns the field (docs/writes.md#writable-fields).
        ({"local_idp_protected_fields": ["job_title"]}, "job_title"),
    ],
)
async def test_protected_fields_are_dropped_silently(
    transport_with: MakeTransport, world: World, overrides: dict[str, Any], kept: str
) -> None:
    transport = await transport_with(**overrides)
    data = {kept: "changed", "first_name": "Changed"}
    updated = (await transport.update_user(world.loner, world.loner.uuid, data)).expect_ok()
    assert (updated[kept], updated["first_name"]) == ("", "Changed")


async def test_support_cannot_change_their_own_privileged_fields(
    transport: Transport, world: World
) -> None:
    data = {"is_support": False, "is_staff": True, "job_title": "Helper"}
    updated = (await transport.update_user(world.support, world.support.uuid, data)).expect_ok()
    assert (updated["job_title"], updated["is_support"], updated["is_staff"]) == (
        "Helper",
        True,
        False,
    )


async def test_staff_update_privileged_fields_but_not_another_users_token_lifetime(
    transport: Transport, world: World
) -> None:
    data = {"description": "noted", "notifications_enabled": False, "token_lifetime": 120}
    outcome = await transport.update_user(world.staff, world.member_a1.uuid, data)
    updated = outcome.expect_ok()
    assert (updated["description"], updated["notifications_enabled"]) == ("noted", False)
    own = (await transport.me(world.member_a1)).expect_ok()
    assert own["token_lifetime"] == 3600
    own = (await transport.update_user(world.member_a1, world.member_a1.uuid, data)).expect_ok()
    assert own["token_lifetime"] == 120


@pytest.mark.parametrize(
    ("caller", "target", "expected"),
    [
        (None, "loner", UNAUTHENTICATED),
        ("owner_a", "member_a1", FORBIDDEN),  # visible, not themselves
        ("support", "loner", FORBIDDEN),  # support is not staff
        ("owner_a", "member_b1", NOT_FOUND),  # invisible
        ("owner_a", "staff", NOT_FOUND),  # staff are invisible to non-staff
    ],
)
async def test_update_denials(
    transport: Transport, world: World, caller: str | None, target: str, expected: object
) -> None:
    target_user = world.user(target)
    who = world.caller(caller)
    assert await transport.update_user(who, target_user.uuid, {"job_title": "changed"}) == expected
    invalid_data = {"phone_number": "call me"}  # refused before the body is looked at
    assert await transport.update_user(who, target_user.uuid, invalid_data) == expected
    stored = (await transport.get_user(world.staff, target_user.uuid)).expect_ok()
    assert stored["job_title"] == ""


async def test_policy_agreement_is_required_until_given(transport: Transport, world: World) -> None:
    unagreed = world.unagreed
    refused = await transport.update_user(unagreed, unagreed.uuid, {"job_title": "x"})
    assert refused == invalid({"agree_with_policy": [MUST_AGREE]})
    outcome = await transport.update_user(
        unagreed, unagreed.uuid, {"job_title": "x", "agree_with_policy": True}
    )
    updated = outcome.expect_ok()
    assert updated["job_title"] == "x"
    assert "agreement_date" in updated
    again = await transport.update_user(unagreed, unagreed.uuid, {"job_title": "y"})
    assert again.expect_ok()["job_title"] == "y"


async def test_policy_exceptions_deactivation_and_staff_targets(
    transport: Transport, world: World, factory: Factory
) -> None:
    unagreed = world.unagreed.uuid
    must_agree = invalid({"agree_with_policy": [MUST_AGREE]})
    more_than_deactivation = {"is_active": False, "description": "gone"}
    assert await transport.update_user(world.staff, unagreed, more_than_deactivation) == must_agree
    assert await transport.update_user(world.staff, unagreed, {"is_active": False}) == OK
    reactivation = await transport.update_user(world.staff, unagreed, {"is_active": True})
    assert reactivation == must_agree
    new_staff = await factory.user("new_staff", is_staff=True, agreement_date=None)
    staff_target = await transport.update_user(world.staff, new_staff.uuid, {"job_title": "x"})
    assert staff_target.expect_ok()["job_title"] == "x"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"token_lifetime": 59},
            {"token_lifetime": ["Ensure this value is greater than or equal to 60."]},
        ),
        ({"phone_number": "call me"}, {"phone_number": [v.INVALID_PHONE]}),
        ({"first_name": "x" * 101}, {"first_name": [v.max_length_message(100)]}),
        ({"first_name": None}, {"first_name": ["This field may not be null."]}),
        (
            {"preferred_language": "far too long"},
            {"preferred_language": [v.max_length_message(10)]},
        ),
    ],
)
async def test_update_validation_errors(
    transport: Transport, world: World, data: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    assert await transport.update_user(world.loner, world.loner.uuid, data) == invalid(errors)


# --- delete ------------------------------------------------------------------------------------


async def test_staff_delete_a_user(transport: Transport, world: World) -> None:
    assert await transport.delete_user(world.staff, world.member_a1.uuid) == OK
    assert await transport.get_user(world.staff, world.member_a1.uuid) == NOT_FOUND
    assert await transport.delete_user(world.staff, world.member_a1.uuid) == NOT_FOUND


@pytest.mark.parametrize(
    ("caller", "expected"),
    [(None, UNAUTHENTICATED), ("loner", FORBIDDEN), ("owner_a", FORBIDDEN), ("support", FORBIDDEN)],
)
@pytest.mark.parametrize("target", ["member_a1", "member_b1", "unknown"])
async def test_only_staff_delete_and_refusal_comes_before_the_lookup(
    transport: Transport, world: World, caller: str | None, expected: object, target: str
) -> None:
    target_user = world.user(target) if target != "unknown" else None
    uuid = target_user.uuid if target_user else uuid4()
    assert await transport.delete_user(world.caller(caller), uuid) == expected
    if target_user is not None:
        assert (await transport.get_user(world.staff, uuid)).ok
