"""Who sees whom, at the core (docs/visibility.md#visible-users): every caller kind of the shared
world against the world's ``VISIBLE_TO``, which tests/parity holds both APIs to as well, plus
the cases that need a role the world does not hold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import NotAuthenticated, NotFound, PermissionDenied
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import IDENTITY_MANAGER_CANNOT_LIST, get_visible_user, list_users
from gql_users.accounts.permissions import load_permissions
from gql_users.accounts.visibility import visible_customers, visible_projects, visible_users
from gql_users.db.engine import count_sql
from tests.conftest import Factory
from tests.world import VISIBLE_TO, World, usernames_for


def caller(world: World, name: str) -> Caller:
    return Caller(user=world.user(name))


async def visible(session: AsyncSession, who: Caller) -> set[str]:
    return set(await usernames_for(session, who))


# --- the matrix ------------------------------------------------------------------------------


async def test_every_caller_sees_exactly_the_visible_users(
    session: AsyncSession, world: World
) -> None:
    """Compared as one dict, so a failure names the caller. Staff and support see everyone,
    inactive users and staff included; a customer owner the whole customer; a project member
    the project and the customer-level roles, not sibling projects; nobody else sees staff,
    inactive users or holders of an inactive role; an inactive role shows nobody."""
    seen = {name: sorted(await visible(session, caller(world, name))) for name in VISIBLE_TO}
    assert seen == VISIBLE_TO
    assert await visible(session, ANONYMOUS) == set()


async def test_customer_support_role_sees_like_an_owner(
    session: AsyncSession, world: World, factory: Factory
) -> None:
    await factory.grant(world.loner, "CUSTOMER.SUPPORT", world.alpha)
    owner_sees = await visible(session, caller(world, "owner_a"))
    assert await visible(session, caller(world, "loner")) == owner_sees | {"loner"}


async def test_a_staff_customer_owner_sees_everyone_and_stays_invisible_to_the_customer(
    session: AsyncSession, world: World, factory: Factory
) -> None:
    """docs/visibility.md#staff-are-hidden-from-non-staff-callers: the staff rule wins both
    ways, even for the owner of a customer."""
    await factory.grant(world.staff, "CUSTOMER.OWNER", world.beta)
    assert await visible(session, caller(world, "staff")) == set(world.users())
    for colleague in ("owner_b", "member_b1", "remote"):
        assert "staff" not in await visible(session, caller(world, colleague)), colleague


async def test_visibility_costs_one_statement_whatever_the_roles(
    session: AsyncSession, world: World, factory: Factory
) -> None:
    for index in range(5):
        project = await factory.project(world.alpha, f"extra-{index}")
        await factory.grant(world.owner_a, "PROJECT.ADMIN", project)
    with count_sql() as counter:
        await visible(session, caller(world, "owner_a"))
    assert counter.count == 1


# --- retrieve --------------------------------------------------------------------------------


async def test_retrieve_visible_user_by_uuid_with_or_without_hyphens(
    session: AsyncSession, world: World
) -> None:
    owner = caller(world, "owner_a")
    target = world.admin_a2
    assert (await get_visible_user(session, owner, target.uuid)).id == target.id
    assert (await get_visible_user(session, owner, target.uuid.hex)).id == target.id
    assert (await get_visible_user(session, owner, str(target.uuid))).id == target.id


@pytest.mark.parametrize(
    ("who", "target"),
    [
        ("member_a1", "admin_a2"),
        ("owner_a", "staff"),
        ("loner", "owner_a"),
        ("owner_a", "inactive_a1"),
    ],
)
async def test_retrieve_invisible_user_is_not_found(
    session: AsyncSession, world: World, who: str, target: str
) -> None:
    with pytest.raises(NotFound):
        await get_visible_user(session, caller(world, who), world.user(target).uuid)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "123"])
async def test_retrieve_malformed_uuid_is_not_found(
    session: AsyncSession, world: World, bad: str
) -> None:
    with pytest.raises(NotFound):
        await get_visible_user(session, caller(world, "staff"), bad)


async def test_retrieve_applies_query_filters(session: AsyncSession, world: World) -> None:
    """docs/visibility.md#query-filters-on-detail-routes: ``?is_active=false`` on the detail
    route of an active user is a 404."""
    with pytest.raises(NotFound):
        await get_visible_user(
            session, caller(world, "staff"), world.owner_a.uuid, UserFilter(is_active=False)
        )


# --- who may list ----------------------------------------------------------------------------


async def test_anonymous_cannot_list(session: AsyncSession, world: World) -> None:
    with pytest.raises(NotAuthenticated):
        await list_users(session, ANONYMOUS, UserFilter(), [], offset=0, limit=10)


async def test_identity_manager_cannot_list_but_can_retrieve(
    session: AsyncSession, world: World
) -> None:
    manager = caller(world, "identity_manager")
    with pytest.raises(PermissionDenied) as raised:
        await list_users(session, manager, UserFilter(), [], offset=0, limit=10)
    assert raised.value.detail == IDENTITY_MANAGER_CANNOT_LIST
    retrieved = await get_visible_user(session, manager, world.member_a1.uuid)
    assert retrieved.id == world.member_a1.id


async def test_a_list_page_counts_every_visible_user(session: AsyncSession, world: World) -> None:
    users, total = await list_users(
        session, caller(world, "owner_a"), UserFilter(), [], offset=0, limit=2
    )
    assert total == len(VISIBLE_TO["owner_a"])
    assert [user.username for user in users] == VISIBLE_TO["owner_a"][:2]


# --- current roles (docs/visibility.md#current-roles) ------------------------------------------


async def test_an_expired_role_stops_counting_without_any_write(
    session: AsyncSession, factory: Factory
) -> None:
    """A grant whose expiration time has passed shows nobody and is nobody's permission, while
    the same grant with a time ahead still counts; the row itself is left as it was."""
    now = datetime.now(UTC)
    customer = await factory.customer("Expiring")
    project = await factory.project(customer, "Expiring project")
    owner = await factory.user("current_owner")
    member = await factory.user("expired_member")
    await factory.grant(owner, "CUSTOMER.OWNER", customer, expiration_time=now + timedelta(days=1))
    expired = await factory.grant(
        member, "PROJECT.MEMBER", project, expiration_time=now - timedelta(seconds=1)
    )

    assert await visible(session, Caller(user=owner)) == {"current_owner"}
    assert await visible(session, Caller(user=member)) == {"expired_member"}
    assert (await load_permissions(session, [member.id])).get(member.id, []) == []
    assert len((await load_permissions(session, [owner.id]))[owner.id]) == 1
    member_scopes = [
        set(await session.scalars(statement))
        for statement in (
            visible_customers(Caller(user=member)),
            visible_projects(Caller(user=member)),
        )
    ]
    assert member_scopes == [set(), set()]
    owner_scopes = [
        {row.uuid for row in await session.scalars(statement)}
        for statement in (
            visible_customers(Caller(user=owner)),
            visible_projects(Caller(user=owner)),
        )
    ]
    assert owner_scopes == [{customer.uuid}, {project.uuid}]
    await session.refresh(expired)
    assert expired.is_active


async def test_the_database_refuses_a_second_current_grant_of_a_role(
    session: AsyncSession, factory: Factory
) -> None:
    """One current grant per user, role and scope; a revoked one does not block a new grant."""
    customer = await factory.customer("Granted once")
    user = await factory.user("granted_once")
    await factory.grant(user, "CUSTOMER.OWNER", customer, is_active=False)
    await factory.grant(user, "CUSTOMER.OWNER", customer)
    with pytest.raises(IntegrityError):
        await factory.grant(user, "CUSTOMER.OWNER", customer)
    await session.rollback()


async def test_a_statement_built_once_takes_the_time_at_each_execution(
    session: AsyncSession, factory: Factory
) -> None:
    """Statements that are built once and reused (the REST read path caches them) must see a
    grant expire: the time is a parameter taken when the statement runs."""
    customer = await factory.customer("Briefly")
    owner = await factory.user("brief_owner")
    colleague = await factory.user("brief_colleague")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    await factory.grant(
        colleague,
        "CUSTOMER.SUPPORT",
        customer,
        expiration_time=datetime.now(UTC) + timedelta(seconds=1),
    )
    statement = visible_users(Caller(user=owner))
    assert "brief_colleague" in {user.username for user in await session.scalars(statement)}
    await asyncio.sleep(1.2)
    assert "brief_colleague" not in {user.username for user in await session.scalars(statement)}
