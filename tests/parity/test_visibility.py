"""Who sees whom (docs/visibility.md#visible-users), asked through each transport: list,
retrieve and me for every caller kind of the world, with the same expected answer for REST and
GraphQL (the world's ``VISIBLE_TO``, which the core is held to in tests/accounts)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from gql_users.accounts.listing import IDENTITY_MANAGER_CANNOT_LIST
from tests.parity.outcome import NOT_FOUND, UNAUTHENTICATED, denied, usernames
from tests.parity.transport import Transport
from tests.world import ALPHA_MEMBERS, VISIBLE_TO, World

LISTING_CALLERS = [name for name in VISIBLE_TO if name != "identity_manager"]


async def test_list_shows_exactly_the_visible_users(transport: Transport, world: World) -> None:
    """One world, every caller kind: compared as one dict, so a failure names the caller."""
    seen = {
        caller: usernames(await transport.list_users(world.caller(caller)))
        for caller in LISTING_CALLERS
    }
    assert seen == {caller: VISIBLE_TO[caller] for caller in LISTING_CALLERS}


async def test_anonymous_callers_cannot_list(transport: Transport, world: World) -> None:
    assert await transport.list_users(None) == UNAUTHENTICATED


async def test_identity_managers_cannot_list(transport: Transport, world: World) -> None:
    outcome = await transport.list_users(world.identity_manager)
    assert outcome == denied("forbidden", IDENTITY_MANAGER_CANNOT_LIST)


async def test_retrieve_finds_the_visible_users_and_no_one_else(
    transport: Transport, world: World
) -> None:
    found: dict[str, list[str]] = {}
    for caller in VISIBLE_TO:
        found[caller] = []
        for name, target in world.users().items():
            outcome = await transport.get_user(world.caller(caller), target.uuid)
            if outcome.ok:
                assert outcome.value["username"] == name
                found[caller].append(name)
            else:
                assert outcome == NOT_FOUND, (caller, name)
        found[caller].sort()
    assert found == VISIBLE_TO


async def test_anonymous_callers_cannot_retrieve(transport: Transport, world: World) -> None:
    assert await transport.get_user(None, world.loner.uuid) == UNAUTHENTICATED


async def test_an_unknown_uuid_is_not_found(transport: Transport, world: World) -> None:
    assert await transport.get_user(world.staff, uuid4()) == NOT_FOUND


async def test_me_is_the_caller(transport: Transport, world: World) -> None:
    for caller, user in world.users().items():
        if not user.is_active:
            continue
        me = (await transport.me(user)).expect_ok()
        assert (me["username"], me["uuid"]) == (caller, user.uuid.hex)


async def test_an_inactive_users_token_is_refused(transport: Transport, world: World) -> None:
    expected = denied("unauthenticated", "User inactive or deleted.")
    assert await transport.me(world.inactive_a1) == expected
    assert await transport.list_users(world.inactive_a1) == expected


async def test_anonymous_callers_have_no_me(transport: Transport, world: World) -> None:
    assert await transport.me(None) == UNAUTHENTICATED


@pytest.mark.parametrize(
    ("caller", "filters", "ordering", "expected"),
    [
        (
            "staff",
            {"customer_uuid": "alpha"},
            (),
            [*ALPHA_MEMBERS[:2], "inactive_a1", *ALPHA_MEMBERS[2:4], "staff", "unagreed"],
        ),
        (
            "staff",
            {"project_uuid": "a1"},
            (),
            ["identity_manager", "inactive_a1", "member_a1", "staff"],
        ),
        ("owner_a", {"project_uuid": "a1"}, (), ["identity_manager", "member_a1"]),
        ("staff", {"organization_roles": ["CUSTOMER.OWNER"]}, (), ["owner_a", "owner_b"]),
        (
            "owner_a",
            {"username_list": ["owner_a", "member_b1", "unagreed"]},
            (),
            ["owner_a", "unagreed"],
        ),
        ("staff", {"is_staff": True}, (), ["staff"]),
        ("support", {"is_active": False}, (), ["inactive_a1"]),
        ("owner_a", {"full_name": "member"}, (), ["member_a1"]),
        ("owner_a", {}, ("-username",), list(reversed(ALPHA_MEMBERS))),
        ("member_b1", {}, ("-full_name",), ["remote", "owner_b", "member_b1"]),
    ],
)
async def test_filters_and_ordering(
    transport: Transport,
    world: World,
    caller: str,
    filters: dict[str, object],
    ordering: tuple[str, ...],
    expected: list[str],
) -> None:
    # Scopes are named in the parameters (their uuids exist only once the world is built).
    resolved = {
        name: getattr(world, str(value)).uuid if name.endswith("_uuid") else value
        for name, value in filters.items()
    }
    outcome = await transport.list_users(world.user(caller), resolved, ordering)
    assert usernames(outcome) == expected


async def test_a_privileged_filter_asked_by_others(
    transport: Transport, transport_name: str, world: World
) -> None:
    """REST answers an empty list, as Waldur; GraphQL refuses a filter on a field the caller
    cannot see (docs/hardening.md#cursors-and-hidden-fields)."""
    outcome = await transport.list_users(world.owner_a, {"is_staff": False})
    if transport_name == "rest":
        assert usernames(outcome) == []
    else:
        assert outcome.kind == "invalid"
        assert list(outcome.errors) == ["is_staff"]
