"""``birth_date`` through each transport: written on create and update, cleared by null,
refused when in the future without writing anything, and read by the user themselves, staff
and support only (docs/api-differences.md#birth-dates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gql_users.accounts import validation as v
from tests.parity.outcome import FORBIDDEN, invalid
from tests.parity.transport import Transport
from tests.world import World

NEWBIE = {"username": "newbie", "email": "newbie@example.com"}


def tomorrow_utc() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


async def test_staff_create_with_a_birth_date(transport: Transport, world: World) -> None:
    created = await transport.create_user(world.staff, {**NEWBIE, "birth_date": "1990-05-17"})
    assert created.expect_ok()["birth_date"] == "1990-05-17"
    (listed,) = (await transport.list_users(world.staff, {"username": "newbie"})).expect_ok()
    assert listed["birth_date"] == "1990-05-17"


async def test_a_user_sets_changes_and_clears_their_own(transport: Transport, world: World) -> None:
    loner = world.loner
    updated = await transport.update_user(loner, loner.uuid, {"birth_date": "2000-02-29"})
    assert updated.expect_ok()["birth_date"] == "2000-02-29"
    assert (await transport.me(loner)).expect_ok()["birth_date"] == "2000-02-29"
    kept = await transport.update_user(loner, loner.uuid, {"job_title": "Hermit"})
    assert kept.expect_ok()["birth_date"] == "2000-02-29"
    cleared = (await transport.update_user(loner, loner.uuid, {"birth_date": None})).expect_ok()
    assert "birth_date" not in cleared  # null, normalised away
    assert "birth_date" not in (await transport.get_user(world.staff, loner.uuid)).expect_ok()


async def test_staff_write_anyones_and_others_write_none_but_their_own(
    transport: Transport, world: World
) -> None:
    target = world.member_a1
    by_staff = await transport.update_user(world.staff, target.uuid, {"birth_date": "1999-09-09"})
    assert by_staff.expect_ok()["birth_date"] == "1999-09-09"
    for caller in (world.owner_a, world.support, world.identity_manager):
        refused = await transport.update_user(caller, target.uuid, {"birth_date": "1950-01-01"})
        assert refused == FORBIDDEN
    stored = (await transport.get_user(world.staff, target.uuid)).expect_ok()
    assert stored["birth_date"] == "1999-09-09"


async def test_a_future_date_is_refused_and_nothing_is_written(
    transport: Transport, world: World
) -> None:
    future = {"birth_date": tomorrow_utc()}
    refused = invalid({"birth_date": [v.FUTURE_BIRTH_DATE]})
    assert await transport.create_user(world.staff, {**NEWBIE, **future}) == refused
    assert (await transport.list_users(world.staff, {"username": "newbie"})).expect_ok() == []
    before = (await transport.me(world.loner)).expect_ok()
    data = {**future, "job_title": "Time traveller"}
    assert await transport.update_user(world.loner, world.loner.uuid, data) == refused
    after = (await transport.me(world.loner)).expect_ok()
    assert (after["birth_date"], after["job_title"]) == (before["birth_date"], "")


async def test_today_is_a_birth_date(transport: Transport, world: World) -> None:
    today = datetime.now(UTC).date().isoformat()
    updated = await transport.update_user(world.loner, world.loner.uuid, {"birth_date": today})
    assert updated.expect_ok()["birth_date"] == today


@pytest.mark.parametrize(
    ("caller", "target", "shown"),
    [
        ("member_a1", "member_a1", True),
        ("identity_manager", "identity_manager", True),
        ("staff", "member_a1", True),
        ("support", "loner", True),
        ("owner_a", "member_a1", False),
        ("member_a1", "owner_a", False),
        ("identity_manager", "member_a1", False),
    ],
)
async def test_read_by_the_user_staff_and_support_only(
    transport: Transport, world: World, caller: str, target: str, shown: bool
) -> None:
    who, whom = world.user(caller), world.user(target)
    rendered = (await transport.get_user(who, whom.uuid)).expect_ok()
    assert rendered.get("birth_date") == (whom.birth_date.isoformat() if shown else None)
