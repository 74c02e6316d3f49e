"""Relay ``node(id:)`` round trips for every Node type (docs/graphql.md#node-and-global-ids),
and the keyset paging, filters and orderings of the customer and project lists
(docs/graphql.md#customers-projects-and-roles)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.world import World

NODE = """query ($id: ID!) { node(id: $id) { __typename id
  ... on User { uuid username }
  ... on Customer { uuid name }
  ... on Project { uuid name }
  ... on Permission { roleName scopeName user { username } }
} }"""
IDS = """query ($uuid: UUID!) {
  customer(uuid: $uuid) { id uuid name
    permissions(first: 1) { edges { node { id roleName user { id uuid username } } } }
    projects(first: 1) { edges { node { id uuid name } } }
  }
}"""


async def ids_of_alpha(gql: GraphQLClient, headers: dict[str, str], world: World) -> Any:
    return (await gql.ok(IDS, {"uuid": world.alpha.uuid.hex}, headers=headers))["customer"]


async def test_every_node_type_round_trips(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    staff = await factory.auth(world.staff)
    alpha = await ids_of_alpha(gql, staff, world)
    permission = alpha["permissions"]["edges"][0]["node"]
    project = alpha["projects"]["edges"][0]["node"]
    expected = {
        alpha["id"]: {"__typename": "Customer", "uuid": alpha["uuid"], "name": "Alpha"},
        project["id"]: {"__typename": "Project", "uuid": project["uuid"], "name": "A1"},
        permission["user"]["id"]: {
            "__typename": "User",
            "uuid": permission["user"]["uuid"],
            "username": "owner_a",
        },
        permission["id"]: {
            "__typename": "Permission",
            "roleName": "CUSTOMER.OWNER",
            "scopeName": "Alpha",
            "user": {"username": "owner_a"},
        },
    }
    assert len(expected) == 4, "global ids are distinct"
    for global_id, fields in expected.items():
        node = (await gql.ok(NODE, {"id": global_id}, headers=staff))["node"]
        assert node == {"id": global_id, **fields}


async def test_node_applies_the_callers_visibility(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    alpha = await ids_of_alpha(gql, await factory.auth(world.staff), world)
    permission_id = alpha["permissions"]["edges"][0]["node"]["id"]
    ids = [alpha["id"], alpha["projects"]["edges"][0]["node"]["id"], permission_id]
    for name, visible in (("owner_a", True), ("member_b1", False), ("loner", False)):
        headers = await factory.auth(world.user(name))
        nodes = [(await gql.ok(NODE, {"id": i}, headers=headers))["node"] for i in ids]
        assert [node is not None for node in nodes] == [visible] * 3, name
    assert (await gql(NODE, {"id": alpha["id"]})).codes == ["UNAUTHENTICATED"]


async def test_a_revoked_permission_is_no_node(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    staff = await factory.auth(world.staff)
    permission_id = (await ids_of_alpha(gql, staff, world))["permissions"]["edges"][0]["node"]["id"]
    revoke = """mutation ($uuid: UUID!, $user: UUID!) { revokeRole(input: {scopeType: CUSTOMER,
      scopeUuid: $uuid, role: "CUSTOMER.OWNER", user: $user}) { revoked } }"""
    variables = {"uuid": world.alpha.uuid.hex, "user": world.owner_a.uuid.hex}
    assert (await gql.ok(revoke, variables, headers=staff))["revokeRole"]["revoked"]
    assert (await gql.ok(NODE, {"id": permission_id}, headers=staff))["node"] is None


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "bad_id",
    [
        "not base64!",
        b64("Role:" + "0" * 32),
        b64("User:not-a-uuid"),
        b64("User"),
        "A" * 10_000,
        "é",
    ],
)
async def test_a_malformed_id_is_a_bad_request(
    gql: GraphQLClient, factory: Factory, world: World, bad_id: str
) -> None:
    response = await gql(NODE, {"id": bad_id}, headers=await factory.auth(world.staff))
    assert response.codes == ["BAD_REQUEST"]
    assert response.data == {"node": None}


PAGE = """query ($first: Int, $after: String, $last: Int, $before: String,
  $order: [CustomerOrder!], $filter: CustomerFilterInput) {
  customers(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
            filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name abbreviation } }
  }
}"""


def names(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in data["customers"]["edges"]]


async def test_customers_page_forwards_and_backwards_in_any_order(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    async with factory.batch():
        for number, abbreviation in enumerate("EDCBA"):
            await factory.customer(f"C{number}", abbreviation=abbreviation)
    staff = await factory.auth(world.staff)
    everything = ["Alpha", "Beta", "C0", "C1", "C2", "C3", "C4"]
    first = (await gql.ok(PAGE, {"first": 3}, headers=staff))["customers"]
    assert [edge["node"]["name"] for edge in first["edges"]] == everything[:3]
    assert first["totalCount"] == 7 and first["pageInfo"]["hasNextPage"]
    after = {"first": 3, "after": first["pageInfo"]["endCursor"]}
    assert names(await gql.ok(PAGE, after, headers=staff)) == everything[3:6]
    before = {"last": 2, "before": first["pageInfo"]["endCursor"]}
    assert names(await gql.ok(PAGE, before, headers=staff)) == everything[:2]
    by_abbreviation = {"order": [{"field": "ABBREVIATION", "direction": "DESC"}], "first": 3}
    assert names(await gql.ok(PAGE, by_abbreviation, headers=staff)) == ["C0", "C1", "C2"]
    # A cursor belongs to its list and its ordering.
    other = {**by_abbreviation, "after": first["pageInfo"]["endCursor"]}
    assert (await gql(PAGE, other, headers=staff)).codes == ["BAD_REQUEST"]
    projects = """query ($after: String) { projects(after: $after) { totalCount } }"""
    wrong_list = await gql(projects, {"after": first["pageInfo"]["endCursor"]}, headers=staff)
    assert wrong_list.codes == ["BAD_REQUEST"]


async def test_customer_filters(gql: GraphQLClient, factory: Factory, world: World) -> None:
    await factory.customer("Gamma 100%", abbreviation="G", description="third_one")
    staff = await factory.auth(world.staff)
    for given, expected in (
        ({"name": "ALP"}, ["Alpha"]),
        ({"name": "100%"}, ["Gamma 100%"]),
        ({"name": "a_"}, []),  # wildcards are literal
        ({"abbreviation": "G"}, ["Gamma 100%"]),
        ({"description": "third_"}, ["Gamma 100%"]),
        ({"name": ""}, ["Alpha", "Beta", "Gamma 100%"]),
    ):
        assert names(await gql.ok(PAGE, {"filter": given}, headers=staff)) == expected, given
    too_long = await gql(PAGE, {"filter": {"name": "x" * 8191}}, headers=staff)
    assert too_long.codes == ["BAD_REQUEST"]
    nul = await gql(PAGE, {"filter": {"name": "a\x00"}}, headers=staff)
    assert nul.codes == ["BAD_REQUEST"]


async def test_projects_filter_by_customer_within_what_the_caller_sees(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    query = """query ($uuid: UUID!) { projects(filter: {customerUuid: $uuid}) {
      edges { node { name } } } }"""
    variables = {"uuid": world.alpha.uuid.hex}
    for name, expected in (("owner_a", ["A1", "A2"]), ("member_a1", ["A1"]), ("owner_b", [])):
        data = await gql.ok(query, variables, headers=await factory.auth(world.user(name)))
        assert [edge["node"]["name"] for edge in data["projects"]["edges"]] == expected, name


async def test_nested_lists_page_with_first_and_after(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    query = """query ($uuid: UUID!, $after: String) { project(uuid: $uuid) {
      permissions(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { user { username } } }
      } } }"""
    staff = await factory.auth(world.staff)
    pages = []
    after = None
    while True:
        variables = {"uuid": world.a1.uuid.hex, "after": after}
        page = (await gql.ok(query, variables, headers=staff))["project"]["permissions"]
        assert page["totalCount"] == 4
        pages.append([edge["node"]["user"]["username"] for edge in page["edges"]])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == [["member_a1", "identity_manager"], ["staff", "inactive_a1"]]
