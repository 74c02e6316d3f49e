"""Who sees whom: the visibility matrix of docs/visibility.md#permission-matrix and scenarios
28-31."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import NotAuthenticated, NotFound, PermissionDenied
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import get_visible_user, list_users
from gql_users.db.engine import count_sql
from tests.accounts.read_world import World, build_world, usernames_for
from tests.conftest import Factory

ALPHA_COLLEAGUES = {"owner_a", "support_a", "manager_a1", "member_a1", "manager_im", "member_a2"}


@pytest.fixture
async def world(factory: Factory) -> World:
    return await build_world(factory)


async def visible(session: AsyncSession, caller: Caller) -> set[str]:
    return set(await usernames_for(session, caller))


# --- the matrix ------------------------------------------------------------------------------


async def test_anonymous_sees_nobody(session: AsyncSession, world: World) -> None:
    assert await visible(session, ANONYMOUS) == set()


async def test_user_without_roles_sees_only_himself(session: AsyncSession, world: World) -> None:
    assert await visible(session, world.caller("loner")) == {"loner"}


async def test_customer_owner_sees_the_customer_and_all_its_projects(
    session: AsyncSession, world: World
) -> None:
    assert await visible(session, world.caller("owner_a")) == ALPHA_COLLEAGUES


async def test_customer_support_role_sees_like_an_owner(
    session: AsyncSession, world: World
) -> None:
    assert await visible(session, world.caller("support_a")) == ALPHA_COLLEAGUES


async def test_project_member_sees_project_and_customer_roles_but_not_sibling_projects(
    session: AsyncSession, world: World
) -> None:
    seen = await visible(session, world.caller("member_a1"))
    assert seen == {"owner_a", "support_a", "manager_a1", "member_a1", "manager_im"}
    assert "member_a2" not in seen


async def test_other_customer_is_separate(session: AsyncSession, world: World) -> None:
    assert await visible(session, world.caller("member_b1")) == {"owner_b", "member_b1"}
    assert await visible(session, world.caller("owner_b")) == {"owner_b", "member_b1"}


async def test_identity_manager_sees_like_a_normal_user(
    session: AsyncSession, world: World
) -> None:
    assert await visible(session, world.caller("manager_im")) == await visible(
        session, world.caller("member_a1")
    )


@pytest.mark.parametrize("privileged", ["staff", "support"])
async def test_staff_and_support_see_everyone_including_inactive_and_staff(
    session: AsyncSession, world: World, privileged: str
) -> None:
    seen = await visible(session, world.caller(privileged))
    assert seen == world.all_usernames
    assert {"inactive_a1", "staff_a", "staff", "former_a"} <= seen


@pytest.mark.parametrize("caller", ["owner_a", "support_a", "member_a1", "loner", "owner_b"])
async def test_staff_users_are_invisible_to_non_staff_even_as_colleagues(
    session: AsyncSession, world: World, caller: str
) -> None:
    """docs/visibility.md#staff-are-hidden-from-non-staff-callers: staff_a owns Alpha, yet Alpha's
    own members do not see them."""
    seen = await visible(session, world.caller(caller))
    assert not seen & {"staff_a", "staff"}


async def test_inactive_users_are_invisible_to_normal_users(
    session: AsyncSession, world: World
) -> None:
    assert "inactive_a1" not in await visible(session, world.caller("manager_a1"))


async def test_an_inactive_role_gives_no_visibility_either_way(
    session: AsyncSession, world: World
) -> None:
    """former_a's role in Alpha is inactive: they see nobody, and nobody sees them."""
    assert await visible(session, world.caller("former_a")) == {"former_a"}
    assert "former_a" not in await visible(session, world.caller("owner_a"))


async def test_a_staff_caller_sees_staff_through_the_privileged_path(
    session: AsyncSession, world: World
) -> None:
    """staff_a is staff and a customer owner: the staff rule wins, they see everyone."""
    assert await visible(session, world.caller("staff_a")) == world.all_usernames


async def test_visibility_costs_one_statement_whatever_the_roles(
    session: AsyncSession, world: World, factory: Factory
) -> None:
    for index in range(5):
        project = await factory.project(world.alpha, f"extra-{index}")
        await factory.grant(world.owner_a, "PROJECT.ADMIN", project)
    with count_sql() as counter:
        await visible(session, world.caller("owner_a"))
    assert counter.count == 1


# --- retrieve --------------------------------------------------------------------------------


async def test_retrieve_visible_user_by_uuid_with_or_without_hyphens(
    session: AsyncSession, world: World
) -> None:
    caller = world.caller("owner_a")
    target = world.member_a2
    assert (await get_visible_user(session, caller, target.uuid)).id == target.id
    assert (await get_visible_user(session, caller, target.uuid.hex)).id == target.id
    assert (await get_visible_user(session, caller, str(target.uuid))).id == target.id


@pytest.mark.parametrize(
    ("caller", "target"),
    [
        ("member_a1", "member_a2"),
        ("owner_a", "staff_a"),
        ("loner", "owner_a"),
        ("owner_a", "inactive_a1"),
    ],
)
async def test_retrieve_invisible_user_is_not_found(
    session: AsyncSession, world: World, caller: str, target: str
) -> None:
    with pytest.raises(NotFound):
        await get_visible_user(session, world.caller(caller), world.users[target].uuid)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "123"])
async def test_retrieve_malformed_uuid_is_not_found(
    session: AsyncSession, world: World, bad: str
) -> None:
    with pytest.raises(NotFound):
        await get_visible_user(session, world.caller("staff"), bad)


async def test_retrieve_applies_query_filters(session: AsyncSession, world: World) -> None:
    """docs/visibility.md#query-filters-on-detail-routes: ``GET /api/users/<uuid>/?is_active=false``
    for an active user is a 404."""
    with pytest.raises(NotFound):
        await get_visible_user(
            session, world.caller("staff"), world.owner_a.uuid, UserFilter(is_active=False)
        )


# --- who may list ----------------------------------------------------------------------------


async def test_anonymous_cannot_list(session: AsyncSession, world: World) -> None:
    with pytest.raises(NotAuthenticated):
        await list_users(session, ANONYMOUS, UserFilter(), [], offset=0, limit=10)


async def test_identity_manager_cannot_list_but_can_retrieve(
    session: AsyncSession, world: World
) -> None:
    caller = world.caller("manager_im")
    with pytest.raises(PermissionDenied) as raised:
        await list_users(session, caller, UserFilter(), [], offset=0, limit=10)
    assert raised.value.detail == "Identity manager is not allowed to list users."
    assert (await get_visible_user(session, caller, world.member_a1.uuid)).id == world.member_a1.id


# --- scenarios 28-31 (UserPermissionApiListTest) ---------------------------------------------


async def test_staff_can_view_all_users(session: AsyncSession, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    await factory.user("owner")
    await factory.user("other")
    users, total = await list_users(
        session, Caller(user=staff), UserFilter(), [], offset=0, limit=10
    )
    assert total == 3
    assert [user.username for user in users] == ["other", "owner", "staff"]


async def test_owner_can_view_other_users_in_organization(
    session: AsyncSession, factory: Factory
) -> None:
    customer = await factory.customer()
    owner = await factory.user("owner")
    colleague = await factory.user("colleague")
    await factory.user("stranger")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    await factory.grant(colleague, "CUSTOMER.SUPPORT", customer)
    users, total = await list_users(
        session, Caller(user=owner), UserFilter(), [], offset=0, limit=10
    )
    assert total == 2
    assert {user.username for user in users} == {"owner", "colleague"}


async def test_owner_can_view_other_users_in_project(
    session: AsyncSession, factory: Factory
) -> None:
    project = await factory.project(await factory.customer())
    manager = await factory.user("manager")
    member = await factory.user("member")
    await factory.user("stranger")
    await factory.grant(manager, "PROJECT.MANAGER", project)
    await factory.grant(member, "PROJECT.MEMBER", project)
    users, total = await list_users(
        session, Caller(user=member), UserFilter(), [], offset=0, limit=10
    )
    assert total == 2
    assert {user.username for user in users} == {"manager", "member"}


async def test_owner_cannot_view_other_users(session: AsyncSession, factory: Factory) -> None:
    lonely = await factory.user("lonely")
    await factory.user("someone")
    users, total = await list_users(
        session, Caller(user=lonely), UserFilter(), [], offset=0, limit=10
    )
    assert total == 1
    assert [user.username for user in users] == ["lonely"]
