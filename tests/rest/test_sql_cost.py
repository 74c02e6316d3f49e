"""What a REST read costs in SQL statements, from the ``X-SQL-Count`` header (debug_sql=True).

A page of users is a constant number of statements whatever its size: the token lookup of the
caller (with the caller), the page (which brings the total along), then one statement for the
page's tokens, pending email changes and permissions (accounts/user_details.py). An N+1
anywhere shows up here as a page of 50 costing more than a page of 5.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select

from gql_users.db.models import Role, User, UserRole
from tests.conftest import Factory
from tests.rest.scenario_helpers import detail_path, json_of

MEMBERS = 50
LIST_BUDGET = 3
"""Caller's token and user, the page with the total beside it, then the page's tokens,
requested emails and permissions; ``page=last`` counts first, one statement more."""
RETRIEVE_BUDGET = 3
"""Caller's token and user, the user, the user's token, requested email and permissions."""
ME_BUDGET = 2
"""Caller's token and user, then the caller's token, requested email and permissions (the
caller needs no look-up)."""


@pytest.fixture
async def owner(factory: Factory) -> User:
    """A customer owner, and 50 members of the customer with three active roles each.

    Each member is CUSTOMER.SUPPORT of the customer, PROJECT.ADMIN of one project and
    PROJECT.MEMBER of another (plus an inactive role, which must not be rendered), so every
    permission shape (customer scope, project scope with its customer) is on the page.
    """
    owner = await factory.user("aaa_owner")
    customer = await factory.customer("Acme")
    first = await factory.project(customer, "First")
    second = await factory.project(customer, "Second")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    session = factory.session
    ids = (
        await session.scalars(
            insert(User).returning(User.id),
            [
                {"username": f"member{number:02d}", "email": f"m{number}@example.com", "slug": "m"}
                for number in range(MEMBERS)
            ],
        )
    ).all()
    roles = {role.name: role.id for role in await session.scalars(select(Role))}
    grants = [
        ("CUSTOMER.SUPPORT", {"customer_id": customer.id}, True),
        ("PROJECT.ADMIN", {"project_id": first.id}, True),
        ("PROJECT.MEMBER", {"project_id": second.id}, True),
        ("PROJECT.MANAGER", {"project_id": first.id}, False),
    ]
    await session.execute(
        insert(UserRole),
        [
            {
                "user_id": user_id,
                "role_id": roles[name],
                "is_active": active,
                "created_by_id": owner.id,
            }
            | {"customer_id": None, "project_id": None}
            | scope
            for user_id in ids
            for name, scope, active in grants
        ],
    )
    await session.commit()
    return owner


async def sql_count(client: Any, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    return int(response.headers["X-SQL-Count"]), await json_of(response)


MEMBERS_ONLY = "/api/users/?organization_roles=CUSTOMER.SUPPORT&page_size="


async def caller_of_kind(factory: Factory, owner: User, kind: str) -> User:
    return owner if kind == "customer_owner" else await factory.user("aaa_staff", is_staff=True)


@pytest.mark.parametrize("caller_kind", ["staff", "customer_owner"])
async def test_a_page_of_50_users_costs_what_a_page_of_5_does(
    client: Any, factory: Factory, owner: User, caller_kind: str
) -> None:
    headers = await factory.auth(await caller_of_kind(factory, owner, caller_kind))
    small_cost, small = await sql_count(client, MEMBERS_ONLY + "5", headers)
    large_cost, large = await sql_count(client, MEMBERS_ONLY + "50", headers)
    assert len(small) == 5 and len(large) == MEMBERS
    assert all(len(user["permissions"]) == 3 for user in large)
    assert all("created_by_username" in p for user in large for p in user["permissions"])
    assert small_cost == large_cost <= LIST_BUDGET


@pytest.mark.parametrize("caller_kind", ["staff", "customer_owner"])
async def test_a_later_page_costs_the_same_as_the_first(
    client: Any, factory: Factory, owner: User, caller_kind: str
) -> None:
    headers = await factory.auth(await caller_of_kind(factory, owner, caller_kind))
    first_cost, _first = await sql_count(client, MEMBERS_ONLY + "20", headers)
    later_cost, later = await sql_count(client, MEMBERS_ONLY + "20&page=3", headers)
    last_cost, last = await sql_count(client, MEMBERS_ONLY + "20&page=last", headers)
    assert len(later) == len(last) == 10
    assert first_cost == later_cost <= LIST_BUDGET
    assert last_cost == first_cost + 1  # page=last needs the count before its offset


@pytest.mark.parametrize("caller_kind", ["staff", "customer_owner"])
async def test_retrieve_costs_a_constant_few_statements(
    client: Any, factory: Factory, owner: User, caller_kind: str
) -> None:
    headers = await factory.auth(await caller_of_kind(factory, owner, caller_kind))
    member = await factory.session.scalar(select(User).where(User.username == "member07"))
    assert member is not None
    cost, body = await sql_count(client, detail_path(member), headers)
    assert len(body["permissions"]) == 3
    assert cost <= RETRIEVE_BUDGET


async def test_me_costs_a_constant_few_statements(
    client: Any, factory: Factory, owner: User
) -> None:
    cost, body = await sql_count(client, "/api/users/me/", await factory.auth(owner))
    assert body["username"] == "aaa_owner" and len(body["permissions"]) == 1
    assert cost <= ME_BUDGET


async def test_head_count_is_two_statements(client: Any, factory: Factory, owner: User) -> None:
    response = await client.head(MEMBERS_ONLY + "50", headers=await factory.auth(owner))
    assert response.headers["X-Result-Count"] == str(MEMBERS)
    assert int(response.headers["X-SQL-Count"]) <= 2  # the caller's token, the count
