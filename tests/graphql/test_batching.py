"""A page costs a constant number of SQL statements, whatever its size."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import User
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

NESTED = """
query Page($first: Int!) {
  users(first: $first) {
    totalCount
    edges { cursor node {
      username token tokenExpiresAt hasActiveSession requestedEmail isStaff
      permissions {
        roleName createdByUsername
        role { name description }
        scope { __typename ... on Customer { name } ... on Project { name customer { name } } }
        customer { name abbreviation }
        createdBy { username hasActiveSession permissions { roleName role { name } } }
      }
    } }
  }
}
"""


async def populate(factory: Factory, session: AsyncSession, count: int) -> User:
    """``count`` users, each with a customer role and a project role granted by a creator,
    so that every loader has work on any page."""
    staff = await factory.user("aaa_staff", is_staff=True)
    creators = [await factory.user(f"creator{n}") for n in range(3)]
    for number in range(count):
        customer = await factory.customer(f"Customer {number}")
        project = await factory.project(customer, f"Project {number}")
        user = await factory.user(f"member{number:03d}")
        creator = creators[number % len(creators)]
        await factory.grant(user, "CUSTOMER.MANAGER", customer, created_by=creator)
        await factory.grant(user, "PROJECT.ADMIN", project, created_by=creator)
        await factory.grant(creator, "PROJECT.MEMBER", project, created_by=staff)
    return staff


async def test_fifty_users_cost_what_five_cost(
    gql: GraphQLClient, factory: Factory, session: AsyncSession
) -> None:
    staff = await populate(factory, session, 55)
    headers = await factory.auth(staff)
    await gql(NESTED, {"first": 1}, headers=headers)  # the process loads its cursor key once
    small = await gql(NESTED, {"first": 5}, headers=headers)
    large = await gql(NESTED, {"first": 50}, headers=headers)
    assert not small.errors and not large.errors
    assert len(small.data["users"]["edges"]) == 5
    assert len(large.data["users"]["edges"]) == 50
    nested = large.data["users"]["edges"][-1]["node"]["permissions"][0]
    assert nested["createdBy"]["permissions"], "the nested loaders had work to do"
    assert small.sql_count == large.sql_count
    # authentication (1), page (1), count (1), then what the query plans for the page: tokens,
    # emails, permissions with their roles and scopes, creators; and for the creators: tokens,
    # permissions (resolvers/users/planning.py).
    assert large.sql_count <= 9, large.sql_count
