"""The ``permissions`` of users (docs/fields.md#permissions, scenarios 80-82), loaded in batch."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.permissions import load_permissions, permission_to_waldur
from gql_users.accounts.wire import render_datetime
from gql_users.db.engine import count_sql
from gql_users.db.models import User
from tests.conftest import Factory

CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
EXPIRES = datetime(2030, 6, 7, 8, 9, 10, 123456, tzinfo=UTC)


async def test_customer_scope_with_creator(session: AsyncSession, factory: Factory) -> None:
    customer = await factory.customer("Alpha")
    boss = await factory.user("boss", first_name="Big", last_name="Boss")
    owner = await factory.user("owner", first_name="Olivia", last_name="Owner", slug="olivia-1")
    await factory.grant(
        owner,
        "CUSTOMER.OWNER",
        customer,
        created_by=boss,
        created=CREATED,
        expiration_time=EXPIRES,
    )
    role = await factory.role("CUSTOMER.OWNER")

    [row] = (await load_permissions(session, [owner.id]))[owner.id]
    assert permission_to_waldur(row) == {
        "user_uuid": owner.uuid.hex,
        "user_name": "Olivia Owner",
        "user_slug": "olivia-1",
        "created": "2024-01-02T03:04:05Z",
        "expiration_time": "2030-06-07T08:09:10.123456Z",
        "created_by_full_name": "Big Boss",
        "created_by_username": "boss",
        "role_name": "CUSTOMER.OWNER",
        "role_description": role.description,
        "role_uuid": role.uuid.hex,
        "scope_type": "customer",
        "scope_uuid": customer.uuid.hex,
        "scope_name": "Alpha",
    }
    assert list(permission_to_waldur(row))[:6] == [
        "user_uuid",
        "user_name",
        "user_slug",
        "created",
        "expiration_time",
        "created_by_full_name",
    ]
    assert (row.role_id, row.scope_id, row.created_by_id) == (role.id, customer.id, boss.id)
    assert (row.project_id, row.customer_id, row.customer_uuid) == (None, None, None)


async def test_project_scope_without_creator(session: AsyncSession, factory: Factory) -> None:
    customer = await factory.customer("Alpha")
    project = await factory.project(customer, "Alpha-1")
    member = await factory.user("member", first_name="Mo")
    await factory.grant(member, "PROJECT.MEMBER", project, created=CREATED)

    [row] = (await load_permissions(session, [member.id]))[member.id]
    rendered = permission_to_waldur(row)
    assert "created_by_full_name" not in rendered
    assert "created_by_username" not in rendered
    assert rendered["expiration_time"] is None
    assert rendered["user_name"] == "Mo"
    assert rendered["scope_type"] == "project"
    assert (rendered["scope_uuid"], rendered["scope_name"]) == (project.uuid.hex, "Alpha-1")
    assert (rendered["customer_uuid"], rendered["customer_name"]) == (customer.uuid.hex, "Alpha")
    assert list(rendered)[-2:] == ["customer_uuid", "customer_name"]
    assert (row.project_id, row.scope_id, row.customer_id) == (project.id, project.id, customer.id)


async def test_a_deleted_creator_is_left_out(session: AsyncSession, factory: Factory) -> None:
    customer = await factory.customer()
    creator = await factory.user("creator")
    owner = await factory.user("owner")
    await factory.grant(owner, "CUSTOMER.OWNER", customer, created_by=creator)
    await session.execute(delete(User).where(User.id == creator.id))
    await session.commit()

    [row] = (await load_permissions(session, [owner.id]))[owner.id]
    assert row.created_by_id is None
    assert "created_by_username" not in permission_to_waldur(row)


async def test_inactive_roles_are_excluded_and_order_is_by_created(
    session: AsyncSession, factory: Factory
) -> None:
    customer = await factory.customer()
    project = await factory.project(customer)
    user = await factory.user("user")
    march, january = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
    await factory.grant(user, "PROJECT.ADMIN", project, created=march)
    await factory.grant(user, "CUSTOMER.SUPPORT", customer, created=january)
    await factory.grant(user, "CUSTOMER.OWNER", customer, is_active=False)
    loaded = await load_permissions(session, [user.id])
    assert [row.role_name for row in loaded[user.id]] == ["CUSTOMER.SUPPORT", "PROJECT.ADMIN"]


async def test_every_requested_user_gets_a_list(session: AsyncSession, factory: Factory) -> None:
    nobody = await factory.user("nobody")
    loaded = await load_permissions(session, [nobody.id, nobody.id, 999_999])
    assert loaded == {nobody.id: [], 999_999: []}
    with count_sql() as counter:
        assert await load_permissions(session, []) == {}
    assert counter.count == 0


async def test_user_with_multiple_roles_returns_all_permissions(
    session: AsyncSession, factory: Factory
) -> None:
    """Scenarios 80-82: each user carries their own permissions, with role and scope names."""
    customer = await factory.customer("Alpha")
    project = await factory.project(customer, "Alpha-1")
    owner = await factory.user("owner")
    both = await factory.user("both")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    await factory.grant(both, "CUSTOMER.SUPPORT", customer)
    await factory.grant(both, "PROJECT.MANAGER", project)

    loaded = await load_permissions(session, [owner.id, both.id])
    [owner_permission] = loaded[owner.id]
    assert (owner_permission.role_name, owner_permission.scope_name) == ("CUSTOMER.OWNER", "Alpha")
    assert {(row.role_name, row.scope_name) for row in loaded[both.id]} == {
        ("CUSTOMER.SUPPORT", "Alpha"),
        ("PROJECT.MANAGER", "Alpha-1"),
    }
    assert all(row.user_uuid == both.uuid for row in loaded[both.id])


async def _users_with_three_permissions(factory: Factory, count: int, prefix: str) -> list[int]:
    customer = await factory.customer(f"{prefix}-customer")
    project = await factory.project(customer, f"{prefix}-project")
    creator = await factory.user(f"{prefix}-creator")
    ids = []
    for index in range(count):
        user = await factory.user(f"{prefix}{index}")
        await factory.grant(user, "CUSTOMER.SUPPORT", customer, created_by=creator)
        await factory.grant(user, "PROJECT.MEMBER", project)
        await factory.grant(user, "PROJECT.ADMIN", project, created_by=creator)
        ids.append(user.id)
    return ids


async def test_the_statement_count_does_not_grow_with_the_page(
    session: AsyncSession, factory: Factory
) -> None:
    small = await _users_with_three_permissions(factory, 5, "small")
    large = await _users_with_three_permissions(factory, 50, "large")

    with count_sql() as small_counter:
        small_loaded = await load_permissions(session, small)
    with count_sql() as large_counter:
        large_loaded = await load_permissions(session, large)

    assert sum(len(rows) for rows in small_loaded.values()) == 15
    assert sum(len(rows) for rows in large_loaded.values()) == 150
    assert small_counter.count == large_counter.count == 1


def test_render_datetime_is_utc_with_z() -> None:
    offset = datetime.fromisoformat("2024-01-02T05:04:05+02:00")
    assert render_datetime(offset) == "2024-01-02T03:04:05Z"
    assert render_datetime(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05Z"
