"""Creating, changing and deleting customers and projects in the core
(gql_users/accounts/organisations.py, docs/writes.md#customers-and-projects): who may, for every
caller kind, the validation of the input and the rule that only an empty customer is deleted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts import organisations
from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.operations import already_read
from gql_users.db.models import Customer, Project, UserRole
from tests.accounts.outcomes import outcome
from tests.world import World


def caller(world: World, name: str | None) -> Caller:
    return ANONYMOUS if name is None else Caller(user=world.user(name))


async def count(session: AsyncSession, model: type[Customer] | type[Project]) -> int:
    total = await session.scalar(select(func.count()).select_from(model))
    await session.commit()
    return total or 0


CREATE_CUSTOMER = {
    None: NotAuthenticated,
    "staff": "ok",
    "support": PermissionDenied,
    "owner_a": PermissionDenied,
    "loner": PermissionDenied,
}


@pytest.mark.parametrize("name", list(CREATE_CUSTOMER))
async def test_only_staff_create_customers(
    session: AsyncSession, world: World, name: str | None
) -> None:
    data = {"name": "Gamma", "abbreviation": "G", "description": "third"}
    result = await outcome(
        organisations.create_customer(session, caller(world, name), already_read(data))
    )
    assert result == CREATE_CUSTOMER[name]
    assert await count(session, Customer) == 2 + (result == "ok")


UPDATE_ALPHA = {
    None: NotAuthenticated,
    "staff": "ok",
    "support": PermissionDenied,
    "owner_a": PermissionDenied,
    "member_a1": PermissionDenied,
    "owner_b": NotFound,
    "loner": NotFound,
}


@pytest.mark.parametrize("name", list(UPDATE_ALPHA))
async def test_who_may_update_a_customer(
    session: AsyncSession, world: World, name: str | None
) -> None:
    result = await outcome(
        organisations.update_customer(
            session, caller(world, name), world.alpha.uuid, already_read({"abbreviation": "ALF"})
        )
    )
    assert result == UPDATE_ALPHA[name]
    await session.refresh(world.alpha)
    assert (world.alpha.abbreviation == "ALF") == (result == "ok")


async def test_a_customer_is_deleted_only_when_it_has_no_project(
    session: AsyncSession, world: World
) -> None:
    staff = Caller(user=world.staff)
    with pytest.raises(Conflict) as refused:
        await organisations.delete_customer(session, staff, world.beta.uuid)
    assert refused.value.detail == "Cannot delete organization with existing projects"
    with pytest.raises(PermissionDenied):
        await organisations.delete_project(session, Caller(user=world.member_b1), world.b1.uuid)
    await organisations.delete_project(session, Caller(user=world.owner_b), world.b1.uuid)
    await organisations.delete_customer(session, staff, world.beta.uuid)
    assert await count(session, Customer) == 1
    grants = await session.scalar(select(func.count()).where(UserRole.customer_id == world.beta.id))
    assert grants == 0


CREATE_PROJECT_IN_ALPHA = {
    None: NotAuthenticated,
    "staff": "ok",
    "owner_a": "ok",
    "support": PermissionDenied,
    "member_a1": PermissionDenied,
    "owner_b": ValidationFailed,  # Alpha is not visible: "Object does not exist."
    "loner": ValidationFailed,
}


@pytest.mark.parametrize("name", list(CREATE_PROJECT_IN_ALPHA))
async def test_who_may_create_a_project(
    session: AsyncSession, world: World, name: str | None
) -> None:
    data = {"name": "A3", "customer": f"http://testserver/api/customers/{world.alpha.uuid.hex}/"}
    result = await outcome(
        organisations.create_project(session, caller(world, name), already_read(data))
    )
    assert result == CREATE_PROJECT_IN_ALPHA[name]
    assert await count(session, Project) == 3 + (result == "ok")


UPDATE_A1 = {
    None: NotAuthenticated,
    "staff": "ok",
    "owner_a": "ok",
    "support": PermissionDenied,
    "member_a1": PermissionDenied,
    "admin_a2": NotFound,
    "owner_b": NotFound,
}


@pytest.mark.parametrize("name", list(UPDATE_A1))
async def test_who_may_update_and_delete_a_project(
    session: AsyncSession, world: World, name: str | None
) -> None:
    who = caller(world, name)
    result = await outcome(
        organisations.update_project(
            session, who, world.a1.uuid.hex, already_read({"description": "renamed"})
        )
    )
    assert result == UPDATE_A1[name]
    assert await outcome(organisations.delete_project(session, who, world.a1.uuid)) == result
    assert await count(session, Project) == 3 - (result == "ok")


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({}, {"name": ["This field is required."], "customer": ["This field is required."]}),
        (
            {"name": None, "customer": None},
            {"name": ["This field may not be null."], "customer": ["This field may not be null."]},
        ),
        (
            {"name": "n" * 1_000_000, "customer": "http://x/api/users/"},
            {
                "name": ["Ensure this field has no more than 500 characters."],
                "customer": ["Invalid hyperlink - No URL match."],
            },
        ),
        (
            {"name": " ", "customer": 12, "description": "\x00"},
            {
                "name": ["This field may not be blank."],
                "description": ["Null characters are not allowed."],
                "customer": ["Incorrect type. Expected URL string, received int."],
            },
        ),
        (
            {"name": "ok", "customer": "http://x/api/customers/" + "0" * 32 + "/"},
            {"customer": ["Invalid hyperlink - Object does not exist."]},
        ),
    ],
)
async def test_bad_project_input_is_a_clear_error_and_changes_nothing(
    session: AsyncSession, world: World, data: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    with pytest.raises(ValidationFailed) as failed:
        await organisations.create_project(session, Caller(user=world.staff), already_read(data))
    assert failed.value.errors == errors
    assert await count(session, Project) == 3


async def test_bad_customer_input_is_a_clear_error_and_changes_nothing(
    session: AsyncSession, world: World
) -> None:
    staff = Caller(user=world.staff)
    data = {"name": "x" * 151, "abbreviation": "ABCDEFGHIJKLM", "description": None}
    with pytest.raises(ValidationFailed) as failed:
        await organisations.create_customer(session, staff, already_read(data))
    assert failed.value.errors == {
        "name": ["Ensure this field has no more than 150 characters."],
        "abbreviation": ["Ensure this field has no more than 12 characters."],
        "description": ["This field may not be null."],
    }
    with pytest.raises(ValidationFailed):  # PUT needs the name
        await organisations.update_customer(
            session, staff, world.alpha.uuid, already_read({"abbreviation": "A"}), partial=False
        )
    with pytest.raises(NotFound):
        await organisations.update_customer(session, staff, "not-a-uuid", already_read({}))
    await session.refresh(world.alpha)
    assert world.alpha.abbreviation == ""
    assert await count(session, Customer) == 2
