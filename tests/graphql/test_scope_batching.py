"""The graph around users costs a constant number of SQL statements per page, whatever its size:
every nested level is one batch (docs/graphql.md#customers-projects-and-roles)."""

from __future__ import annotations

from gql_users.db.models import User
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

NESTED = """
query Graph($first: Int!) {
  customers(first: $first) {
    totalCount
    edges { node {
      name
      permissions(first: 5) { totalCount edges { node { roleName user { username } } } }
      projects(first: 5) {
        totalCount
        edges { node {
          name customer { name }
          permissions(first: 5) {
            totalCount
            edges { node {
              id roleName role { name } scope { __typename }
              user { username }
            } }
          }
        } }
      }
    } }
  }
}
"""


async def populate(factory: Factory, count: int) -> User:
    """``count`` customers, each with an owner and two projects of two members each."""
    async with factory.batch():
        staff = await factory.user("aaa_staff", is_staff=True)
        for number in range(count):
            customer = await factory.customer(f"Customer {number:03d}")
            owner = await factory.user(f"owner{number:03d}")
            await factory.grant(owner, "CUSTOMER.OWNER", customer)
            for side in ("a", "b"):
                project = await factory.project(customer, f"Project {number:03d}{side}")
                for member in range(2):
                    user = await factory.user(f"member{number:03d}{side}{member}")
                    await factory.grant(user, "PROJECT.MEMBER", project, created_by=owner)
    return staff


async def test_thirty_customers_cost_what_three_cost(gql: GraphQLClient, factory: Factory) -> None:
    staff = await populate(factory, 32)
    headers = await factory.auth(staff)
    await gql(NESTED, {"first": 1}, headers=headers)  # the process loads its cursor key once
    small = await gql(NESTED, {"first": 3}, headers=headers)
    large = await gql(NESTED, {"first": 30}, headers=headers)
    assert not small.errors and not large.errors, (small.errors, large.errors)
    customers = large.data["customers"]["edges"]
    assert len(small.data["customers"]["edges"]) == 3
    assert len(customers) == 30
    last = customers[-1]["node"]
    assert last["permissions"]["edges"][0]["node"]["user"]["username"] == "owner029"
    projects = last["projects"]["edges"]
    assert [edge["node"]["name"] for edge in projects] == ["Project 029a", "Project 029b"]
    members = projects[1]["node"]["permissions"]["edges"]
    assert [edge["node"]["user"]["username"] for edge in members] == [
        "member029b0",
        "member029b1",
    ]
    assert small.sql_count == large.sql_count
    # authentication, the page and its count, then one statement per nested list and one per
    # its count (projects, the customers' and the projects' permissions), roles, the
    # permissions' scopes, the projects' customers, the holders.
    assert large.sql_count <= 14, large.sql_count


USERS_SCOPES = """
query Held($usernames: [String!]!) {
  users(first: 100, filter: {usernameList: $usernames}) { edges { node {
    username
    customers(first: 3) { totalCount edges { node { name projects(first: 3) { totalCount } } } }
    projects(first: 3) { totalCount edges { node { name customer { name } } } }
  } } }
}
"""


async def test_the_scopes_of_a_page_of_users_cost_what_one_users_cost(
    gql: GraphQLClient, factory: Factory
) -> None:
    staff = await populate(factory, 12)
    headers = await factory.auth(staff)
    everyone = [f"owner{n:03d}" for n in range(12)] + [
        f"member{n:03d}{side}{m}" for n in range(12) for side in "ab" for m in range(2)
    ]
    await gql(USERS_SCOPES, {"usernames": []}, headers=headers)  # the cursor key, once
    # Two users with every kind of scope against all sixty: the same levels have work to do.
    small = await gql(USERS_SCOPES, {"usernames": everyone[:1] + everyone[-1:]}, headers=headers)
    large = await gql(USERS_SCOPES, {"usernames": everyone}, headers=headers)
    assert not small.errors and not large.errors, (small.errors, large.errors)
    users = {edge["node"]["username"]: edge["node"] for edge in large.data["users"]["edges"]}
    assert len(users) == 12 * 5
    owner = users["owner001"]
    assert [edge["node"]["name"] for edge in owner["customers"]["edges"]] == ["Customer 001"]
    assert owner["customers"]["edges"][0]["node"]["projects"]["totalCount"] == 2
    member = users["member001a1"]
    assert [edge["node"] for edge in member["projects"]["edges"]] == [
        {"name": "Project 001a", "customer": {"name": "Customer 001"}}
    ]
    assert small.sql_count == large.sql_count
