"""Which fields each caller kind sees (docs/fields.md#fields-per-caller), through each transport.

Renderings are compared as key sets after normalisation (null == left out), and every user of
the world has a value in every field that can be hidden, so a missing key means "hidden".
Fields that are null for the whole world (civil_number, image, requested_email) are left out
of the expectations for that reason.
"""

from __future__ import annotations

import pytest

from gql_users.accounts.shaping import (
    OWN_TOKEN_FIELDS,
    PERSONAL_FIELDS,
    PRIVILEGED_FIELDS,
    USER_FIELDS,
)
from tests.conftest import Factory
from tests.parity.transport import Transport
from tests.world import World

NULL_FOR_EVERYONE = frozenset({"civil_number", "image", "requested_email"})
ALWAYS_SHOWN = (
    frozenset(USER_FIELDS)
    - PRIVILEGED_FIELDS
    - OWN_TOKEN_FIELDS
    - PERSONAL_FIELDS
    - NULL_FOR_EVERYONE
)

# (caller, another user the caller can see)
CALLERS_AND_COLLEAGUES = [
    ("loner", None),
    ("owner_a", "member_a1"),
    ("member_a1", "owner_a"),
    ("identity_manager", "member_a1"),
    ("support", "loner"),
    ("staff", "owner_b"),
]
PRIVILEGED_CALLERS = {"support", "staff"}


def expected_keys(*, privileged: bool, own: bool) -> frozenset[str]:
    keys = set(ALWAYS_SHOWN)
    if privileged:
        keys |= PRIVILEGED_FIELDS | PERSONAL_FIELDS
    if own:
        keys |= OWN_TOKEN_FIELDS | PERSONAL_FIELDS
    return frozenset(keys)


@pytest.mark.parametrize(("caller", "colleague"), CALLERS_AND_COLLEAGUES)
async def test_privileged_fields_for_staff_and_support_only_and_the_token_for_oneself(
    transport: Transport, world: World, factory: Factory, caller: str, colleague: str | None
) -> None:
    privileged = caller in PRIVILEGED_CALLERS
    who = world.user(caller)
    itself = (await transport.get_user(who, who.uuid)).expect_ok()
    assert set(itself) == expected_keys(privileged=privileged, own=True)
    assert itself["token"] == await factory.token(who)
    me = (await transport.me(who)).expect_ok()
    assert set(me) == expected_keys(privileged=privileged, own=True) | {"ip_address"}
    if colleague is not None:
        other = world.user(colleague)
        rendered = (await transport.get_user(who, other.uuid)).expect_ok()
        assert set(rendered) == expected_keys(privileged=privileged, own=False)


async def test_privileged_values_are_the_stored_ones(transport: Transport, world: World) -> None:
    for caller in (world.staff, world.support):
        staff = (await transport.get_user(caller, world.staff.uuid)).expect_ok()
        inactive = (await transport.get_user(caller, world.inactive_a1.uuid)).expect_ok()
        assert (staff["is_staff"], staff["is_support"], staff["is_active"]) == (True, False, True)
        assert (inactive["is_active"], inactive["description"]) == (False, "about inactive_a1")
        assert inactive["has_active_session"] is True


async def test_a_list_shows_the_own_token_only_on_a_page_of_one(
    transport: Transport, world: World, factory: Factory
) -> None:
    alone = (await transport.list_users(world.loner)).expect_ok()
    assert [set(user) for user in alone] == [expected_keys(privileged=False, own=True)]
    assert alone[0]["token"] == await factory.token(world.loner)
    someone_else = (await transport.list_users(world.staff, {"username": "loner"})).expect_ok()
    assert [user["username"] for user in someone_else] == ["loner"]
    assert not {"token", "token_lifetime"} & set(someone_else[0])  # a page of one, not the caller

    for caller, privileged in ((world.owner_a, False), (world.staff, True)):
        page = (await transport.list_users(caller)).expect_ok()
        assert len(page) > 1
        for user in page:
            expected = expected_keys(privileged=privileged, own=False)
            if user["username"] == caller.username:  # one's own birth date, on any page
                expected |= PERSONAL_FIELDS
            if user["username"] == "unagreed":  # never agreed: agreement_date is null
                expected -= {"agreement_date"}
            assert set(user) == expected, user["username"]


async def test_permissions_are_shown_in_full(
    transport: Transport, transport_name: str, world: World
) -> None:
    """A normal user sees a colleague's roles with role, scope and customer; the creator's
    names too in REST (as Waldur) even when the creator (staff) is not visible to them, while
    GraphQL shows them only with a visible createdBy
    (docs/hardening.md#cursors-and-hidden-fields)."""
    member = (await transport.get_user(world.owner_a, world.member_a1.uuid)).expect_ok()
    (permission,) = member["permissions"]
    creator = {"created_by_full_name": "Staff Person", "created_by_username": "staff"}
    assert permission == {
        "user_uuid": world.member_a1.uuid.hex,
        "user_name": "Member A1",
        "user_slug": world.member_a1.slug,
        "created": permission["created"],
        **(creator if transport_name == "rest" else {}),
        "role_name": "PROJECT.MEMBER",
        "role_description": "Project member",
        "role_uuid": permission["role_uuid"],
        "scope_type": "project",
        "scope_uuid": world.a1.uuid.hex,
        "scope_name": "A1",
        "customer_uuid": world.alpha.uuid.hex,
        "customer_name": "Alpha",
    }
    owner = (await transport.get_user(world.member_a1, world.owner_a.uuid)).expect_ok()
    (customer_role,) = owner["permissions"]
    assert {"customer_uuid", "customer_name", "created_by_username"}.isdisjoint(customer_role)
    assert (customer_role["scope_type"], customer_role["scope_name"]) == ("customer", "Alpha")
