"""Granting, changing and revoking roles in the core (gql_users/accounts/role_grants.py,
docs/writes.md#roles): who may and may not, for every caller kind, the validation of the input,
and the one-current-grant rule under parallel requests. Real database; nothing is mocked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import (
    AccountsError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.operations import already_read
from gql_users.accounts.pagination import PageRequest
from gql_users.accounts.role_grants import (
    ALREADY_GRANTED,
    EXPIRATION_IN_PAST,
    OWN_ROLE,
    ROLE_INACTIVE,
    ROLE_NOT_FOUND,
    USER_NOT_FOUND,
    WRONG_SCOPE,
    GrantFilter,
    ScopeRef,
    grant_role,
    list_scope_grants,
    revoke_role,
    update_role_expiration,
)
from gql_users.db.engine import create_sessionmaker
from gql_users.db.models import Customer, Project, User, UserRole, utcnow
from tests.accounts.outcomes import outcome
from tests.conftest import Factory
from tests.world import World


def ref(scope: Customer | Project) -> ScopeRef:
    return ScopeRef("customer" if isinstance(scope, Customer) else "project", scope.uuid)


def body(user: User, role: str, **extra: Any) -> Any:
    return already_read({"user": user.uuid.hex, "role": role, **extra})


async def current_grants(session: AsyncSession, user: User, scope: Customer | Project) -> int:
    column = UserRole.customer_id if isinstance(scope, Customer) else UserRole.project_id
    count = await session.scalar(
        select(func.count()).where(
            UserRole.user_id == user.id, column == scope.id, UserRole.is_active.is_(True)
        )
    )
    await session.commit()
    return count or 0


@pytest.fixture
async def manager_a1(factory: Factory, world: World) -> User:
    manager = await factory.person("manager_a1")
    await factory.grant(manager, "PROJECT.MANAGER", world.a1)
    return manager


GRANT_MEMBER_IN_A1 = {
    None: NotAuthenticated,
    "staff": "ok",
    "support": PermissionDenied,  # sees every project, manages none
    "owner_a": "ok",
    "manager_a1": "ok",
    "member_a1": PermissionDenied,
    "identity_manager": PermissionDenied,
    "admin_a2": NotFound,  # a sibling project is not visible
    "owner_b": NotFound,
    "loner": NotFound,
}


@pytest.mark.parametrize("caller_name", list(GRANT_MEMBER_IN_A1))
async def test_who_may_grant_the_member_role_of_a_project(
    session: AsyncSession, world: World, manager_a1: User, caller_name: str | None
) -> None:
    users = {**world.users(), "manager_a1": manager_a1}
    caller = ANONYMOUS if caller_name is None else Caller(user=users[caller_name])
    result = await outcome(
        grant_role(session, caller, ref(world.a1), body(world.loner, "PROJECT.MEMBER"))
    )
    assert result == GRANT_MEMBER_IN_A1[caller_name]
    assert await current_grants(session, world.loner, world.a1) == (result == "ok")


GRANT_OWNER_OF_ALPHA = {
    "staff": "ok",
    "owner_a": "ok",
    "manager_a1": PermissionDenied,  # sees Alpha through A1, may not manage its roles
    "member_a1": PermissionDenied,
    "support": PermissionDenied,
    "owner_b": NotFound,
}


@pytest.mark.parametrize("caller_name", list(GRANT_OWNER_OF_ALPHA))
async def test_who_may_grant_a_customer_role(
    session: AsyncSession, world: World, manager_a1: User, caller_name: str
) -> None:
    users = {**world.users(), "manager_a1": manager_a1}
    result = await outcome(
        grant_role(
            session,
            Caller(user=users[caller_name]),
            ref(world.alpha),
            body(world.loner, "CUSTOMER.SUPPORT"),
        )
    )
    assert result == GRANT_OWNER_OF_ALPHA[caller_name]


async def test_a_project_manager_grants_the_member_role_only_and_never_their_own(
    session: AsyncSession, world: World, manager_a1: User
) -> None:
    caller = Caller(user=manager_a1)
    with pytest.raises(PermissionDenied):
        await grant_role(session, caller, ref(world.a1), body(world.loner, "PROJECT.ADMIN"))
    with pytest.raises(ValidationFailed) as own:
        await grant_role(session, caller, ref(world.a1), body(manager_a1, "PROJECT.MEMBER"))
    assert own.value.errors == {"non_field_errors": [OWN_ROLE]}
    assert await current_grants(session, manager_a1, world.a1) == 1  # the manager role only


async def test_a_grant_records_its_creator_and_expiration_and_is_listed(
    session: AsyncSession, world: World
) -> None:
    until = utcnow() + timedelta(days=3)
    grant = await grant_role(
        session,
        Caller(user=world.owner_a),
        ref(world.a2),
        body(world.loner, "PROJECT.ADMIN", expiration_time=until.isoformat()),
    )
    assert grant.created_by_id == world.owner_a.id
    assert grant.expiration_time == until
    grants, page = await list_scope_grants(
        session,
        Caller(user=world.owner_a),
        ref(world.a2),
        PageRequest(),
        GrantFilter(user=world.loner.uuid),
    )
    assert page.total == 1
    assert grants[0].role_name == "PROJECT.ADMIN"
    assert grants[0].created_by_full_name == world.owner_a.full_name


async def test_the_same_role_is_not_granted_twice_but_again_after_revoke_or_expiry(
    session: AsyncSession, factory: Factory, world: World
) -> None:
    staff = Caller(user=world.staff)
    with pytest.raises(ValidationFailed) as twice:
        await grant_role(session, staff, ref(world.a1), body(world.member_a1, "PROJECT.MEMBER"))
    assert twice.value.errors == {"non_field_errors": [ALREADY_GRANTED]}

    assert await revoke_role(session, staff, ref(world.a1), body(world.member_a1, "PROJECT.MEMBER"))
    assert await current_grants(session, world.member_a1, world.a1) == 0
    assert not await revoke_role(
        session, staff, ref(world.a1), body(world.member_a1, "PROJECT.MEMBER")
    )
    await grant_role(session, staff, ref(world.a1), body(world.member_a1, "PROJECT.MEMBER"))
    assert await current_grants(session, world.member_a1, world.a1) == 1

    # an expired grant still marked active does not block a new one
    await factory.grant(
        world.loner, "PROJECT.MEMBER", world.b1, expiration_time=utcnow() - timedelta(hours=1)
    )
    await grant_role(session, staff, ref(world.b1), body(world.loner, "PROJECT.MEMBER"))
    assert await current_grants(session, world.loner, world.b1) == 1


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"role": "NO.SUCH", "user": "x"},
            {"role": [ROLE_NOT_FOUND], "user": ["Must be a valid UUID."]},
        ),
        (
            {"role": "PROJECT.MEMBER", "user": "0" * 32},
            {"user": [USER_NOT_FOUND]},
        ),
        (
            {"role": None, "user": None},
            {"role": ["This field may not be null."], "user": ["This field may not be null."]},
        ),
        ({}, {"role": ["This field is required."], "user": ["This field is required."]}),
        (
            {"role": "r" * 1_000_000, "user": "u" * 1_000_000},
            {"role": [ROLE_NOT_FOUND], "user": ["Must be a valid UUID."]},
        ),
        (
            {"role": ["PROJECT.MEMBER"], "user": 7},
            {"role": ["Not a valid string."], "user": ["Must be a valid UUID."]},
        ),
        (
            {"role": "PROJECT.MEMBER", "expiration_time": "2001-01-01"},
            {"expiration_time": [EXPIRATION_IN_PAST]},
        ),
        ({"role": "PROJECT.MEMBER", "expiration_time": "soon"}, None),
        ({"role": "CUSTOMER.OWNER"}, {"non_field_errors": [WRONG_SCOPE]}),
    ],
)
async def test_bad_input_is_a_clear_validation_error_and_changes_nothing(
    session: AsyncSession, world: World, data: dict[str, Any], errors: Any
) -> None:
    data = {"user": world.loner.uuid.hex, **data} if "user" not in data and data else data
    with pytest.raises(ValidationFailed) as failed:
        await grant_role(session, Caller(user=world.staff), ref(world.a1), already_read(data))
    if errors is not None:
        assert failed.value.errors == errors
    else:
        assert isinstance(failed.value.errors, dict)
        assert list(failed.value.errors) == ["expiration_time"]
    assert await current_grants(session, world.loner, world.a1) == 0


async def test_changing_the_expiration_and_making_it_permanent(
    session: AsyncSession, world: World, manager_a1: User
) -> None:
    caller = Caller(user=manager_a1)
    until = utcnow() + timedelta(days=1)
    grant = await update_role_expiration(
        session,
        caller,
        ref(world.a1),
        body(world.member_a1, "PROJECT.MEMBER", expiration_time=until.isoformat()),
    )
    assert grant.expiration_time == until
    grant = await update_role_expiration(
        session, caller, ref(world.a1), body(world.member_a1, "PROJECT.MEMBER")
    )
    assert grant.expiration_time is None
    with pytest.raises(ValidationFailed):  # not held
        await update_role_expiration(
            session, caller, ref(world.a1), body(world.loner, "PROJECT.MEMBER")
        )
    with pytest.raises(PermissionDenied):  # a manager may not touch an owner's role
        await update_role_expiration(
            session,
            Caller(user=world.member_a1),
            ref(world.a1),
            body(world.member_a1, "PROJECT.MEMBER"),
        )


async def test_the_team_shows_only_holders_the_caller_may_see(
    session: AsyncSession, world: World
) -> None:
    async def holders(name: str) -> list[str]:
        grants, _page = await list_scope_grants(
            session, Caller(user=world.user(name)), ref(world.a1), PageRequest(size=100)
        )
        return sorted(grant.user_username for grant in grants)

    assert await holders("staff") == [
        "identity_manager",
        "inactive_a1",
        "member_a1",
        "staff",
    ]
    # staff and inactive users stay invisible to others
    assert await holders("owner_a") == ["identity_manager", "member_a1"]
    assert await holders("member_a1") == ["identity_manager", "member_a1"]
    with pytest.raises(NotFound):
        await holders("owner_b")


async def test_thirty_parallel_grants_of_one_role_leave_exactly_one(
    engine: AsyncEngine, session: AsyncSession, world: World
) -> None:
    sessions = create_sessionmaker(engine)

    async def one() -> type[AccountsError] | str:
        async with sessions() as own:
            staff = await own.get(User, world.staff.id)
            return await outcome(
                grant_role(
                    own, Caller(user=staff), ref(world.b1), body(world.loner, "PROJECT.ADMIN")
                )
            )

    results = await asyncio.gather(*(one() for _ in range(30)))
    assert results.count("ok") == 1
    assert set(results) == {"ok", ValidationFailed}
    assert await current_grants(session, world.loner, world.b1) == 1


async def test_an_inactive_role_is_not_granted(
    session: AsyncSession, factory: Factory, world: World
) -> None:
    role = await factory.role("CUSTOMER.MANAGER")
    role.is_active = False
    await session.commit()
    with pytest.raises(ValidationFailed) as failed:
        await grant_role(
            session,
            Caller(user=world.staff),
            ref(world.alpha),
            body(world.loner, role.uuid.hex),  # by uuid as well as by name
        )
    assert failed.value.errors == {"non_field_errors": [ROLE_INACTIVE]}
    assert await current_grants(session, world.loner, world.alpha) == 0
