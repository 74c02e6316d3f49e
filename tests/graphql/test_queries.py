"""``me``, ``user(uuid)`` and ``users``: what only GraphQL has (the schema against the core,
per-caller nulls, the DateTime wire form, navigation, the filter input against the core's filter,
sibling root fields). Who sees whom, through both APIs, is tested in tests/parity."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

import graphql
import pytest
from graphql import GraphQLSchema

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.ordering import ORDERING_FIELDS
from gql_users.accounts.shaping import OWN_TOKEN_FIELDS, PRIVILEGED_FIELDS, USER_FIELDS
from resolvers.schema import build_schema
from resolvers.users.inputs import UserFilterInput, UserOrderField
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.world import World, usernames_for

USERS = """
query Users($filter: UserFilterInput, $orderBy: [UserOrder!], $first: Int) {
  users(filter: $filter, orderBy: $orderBy, first: $first) {
    totalCount
    edges { node { username } }
  }
}
"""


async def usernames(
    gql: GraphQLClient, headers: dict[str, str], **variables: Any
) -> tuple[list[str], int]:
    data = await gql.ok(USERS, {"first": 100, **variables}, headers=headers)
    page = data["users"]
    return [edge["node"]["username"] for edge in page["edges"]], page["totalCount"]


# --- schema parity with the core ---------------------------------------------------------------


def sdl_schema() -> GraphQLSchema:
    """The served schema as graphql-core reads its SDL (public API only)."""
    return graphql.build_schema(build_schema().as_str())


def test_every_rest_field_is_on_the_user_type() -> None:
    """Field names are the camelCase of the REST fields, and every REST field is there."""
    from strawberry.utils.str_converters import to_camel_case

    user_type = sdl_schema().type_map["User"]
    assert {to_camel_case(name) for name in USER_FIELDS} <= set(user_type.fields)


def test_every_field_shaping_can_hide_is_nullable() -> None:
    """A field a caller may not see resolves to null, so it must be nullable in the schema."""
    from graphql import GraphQLNonNull
    from strawberry.utils.str_converters import to_camel_case

    user_type = sdl_schema().type_map["User"]
    for name in PRIVILEGED_FIELDS | OWN_TOKEN_FIELDS:
        field = user_type.fields[to_camel_case(name)]
        assert not isinstance(field.type, GraphQLNonNull), name


def test_the_filter_input_has_every_core_filter() -> None:
    core = {field.name for field in dataclasses.fields(UserFilter)}
    graphql = set(get_type_hints(UserFilterInput, include_extras=False)) - {"to_core"}
    assert core <= graphql


def test_the_order_enum_has_every_rest_ordering() -> None:
    assert {member.value for member in UserOrderField} == set(ORDERING_FIELDS)


# --- me and user -----------------------------------------------------------------------------


async def test_me_shows_own_token_but_not_privileged_fields(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    headers = await factory.auth(world.owner_a)
    data = await gql.ok(
        "{ me { username fullName token tokenLifetime tokenExpiresAt isStaff isActive "
        "description hasActiveSession } }",
        headers=headers,
    )
    me = data["me"]
    assert me["username"] == "owner_a"
    assert me["fullName"] == "Owner A"
    assert me["token"] == await factory.token(world.owner_a)
    assert me["tokenLifetime"] == 3600
    assert me["tokenExpiresAt"].endswith("Z")
    assert me["isStaff"] is None and me["isActive"] is None
    assert me["description"] is None and me["hasActiveSession"] is None


async def test_staff_see_privileged_fields_but_not_other_tokens(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    headers = await factory.auth(world.staff)
    data = await gql.ok(
        "query($uuid: UUID!) { user(uuid: $uuid) { username token tokenLifetime isStaff "
        "isActive hasActiveSession } }",
        {"uuid": str(world.owner_a.uuid)},  # hyphenated is accepted
        headers=headers,
    )
    assert data["user"] == {
        "username": "owner_a",
        "token": None,
        "tokenLifetime": None,
        "isStaff": False,
        "isActive": True,
        "hasActiveSession": True,
    }


async def test_a_malformed_uuid_is_a_request_error(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    response = await gql(
        "query($uuid: UUID!) { user(uuid: $uuid) { username } }",
        {"uuid": "not-a-uuid"},
        headers=await factory.auth(world.staff),
    )
    assert response.status == 200
    assert "data" not in response.body
    assert "is not a valid UUID" in response.errors[0]["message"]


# --- users: visibility and shaping -----------------------------------------------------------


async def test_created_by_is_null_when_the_creator_is_not_visible(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    # loner granted admin_a2's second role; owner_a sees admin_a2 but not loner.
    await factory.grant(world.admin_a2, "PROJECT.MANAGER", world.a2, created_by=world.loner)
    await factory.grant(world.member_a1, "PROJECT.ADMIN", world.a1, created_by=world.owner_a)
    query = """query($filter: UserFilterInput) { users(filter: $filter) { edges { node {
      username permissions { roleName createdByUsername createdBy { username } } } } } }"""
    data = await gql.ok(
        query,
        {"filter": {"usernameList": ["member_a1", "admin_a2"]}},
        headers=await factory.auth(world.owner_a),
    )
    by_user = {
        edge["node"]["username"]: edge["node"]["permissions"] for edge in data["users"]["edges"]
    }
    manager_a2 = next(p for p in by_user["admin_a2"] if p["roleName"] == "PROJECT.MANAGER")
    assert manager_a2 == {
        "roleName": "PROJECT.MANAGER",
        "createdByUsername": None,  # as createdBy (REST shows it, as Waldur does)
        "createdBy": None,
    }
    admin_a1 = next(p for p in by_user["member_a1"] if p["roleName"] == "PROJECT.ADMIN")
    assert admin_a1["createdBy"] == {"username": "owner_a"}
    assert admin_a1["createdByUsername"] == "owner_a"


async def test_permission_navigation(gql: GraphQLClient, factory: Factory, world: World) -> None:
    query = """query($uuid: UUID!) { user(uuid: $uuid) { permissions {
      roleName scopeType scopeName customerName
      role { name scopeType isActive }
      scope { __typename ... on Customer { name } ... on Project { name customer { name } } }
      customer { name } } } }"""
    headers = await factory.auth(world.staff)
    member = await gql.ok(query, {"uuid": world.member_a1.uuid.hex}, headers=headers)
    assert member["user"]["permissions"] == [
        {
            "roleName": "PROJECT.MEMBER",
            "scopeType": "project",
            "scopeName": "A1",
            "customerName": "Alpha",
            "role": {"name": "PROJECT.MEMBER", "scopeType": "project", "isActive": True},
            "scope": {"__typename": "Project", "name": "A1", "customer": {"name": "Alpha"}},
            "customer": {"name": "Alpha"},
        }
    ]
    owner = await gql.ok(query, {"uuid": world.owner_a.uuid.hex}, headers=headers)
    permission = owner["user"]["permissions"][0]
    assert permission["scope"] == {"__typename": "Customer", "name": "Alpha"}
    assert permission["customer"] is None and permission["customerName"] is None


# --- users: filters and ordering ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("graphql_filter", "core_filter"),
    [
        ({"username": "loner"}, UserFilter(username="loner")),
        (
            {"usernameList": ["loner", "staff", "nobody"]},
            UserFilter(username_list=("loner", "staff", "nobody")),
        ),
        ({"usernameList": []}, UserFilter(username_list=())),
        ({"isActive": False}, UserFilter(is_active=False)),
        ({"isStaff": True}, UserFilter(is_staff=True)),
        ({"fullName": "owner"}, UserFilter(full_name="owner")),
        ({"query": "support"}, UserFilter(query="support")),
        (
            {"organizationRoles": ["PROJECT.MEMBER"]},
            UserFilter(organization_roles=("PROJECT.MEMBER",)),
        ),
        ({"dateJoined": "2000-01-01T00:00:00Z"}, None),
        ({"dateJoined": "2999-01-01T00:00:00+02:00"}, UserFilter(username_list=())),
    ],
)
async def test_filters_match_the_core(
    gql: GraphQLClient,
    factory: Factory,
    session: Any,
    world: World,
    graphql_filter: dict[str, Any],
    core_filter: UserFilter | None,
) -> None:
    listed, total = await usernames(gql, await factory.auth(world.staff), filter=graphql_filter)
    expected = await usernames_for(session, Caller(user=world.staff), core_filter)
    assert listed == expected
    assert total == len(expected)


async def test_privileged_filters_and_orderings_are_refused_to_others(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """docs/hardening.md#cursors-and-hidden-fields"""
    query = """query($filter: UserFilterInput, $orderBy: [UserOrder!]) {
      users(filter: $filter, orderBy: $orderBy) { totalCount } }"""
    headers = await factory.auth(world.owner_a)
    refused = await gql(query, {"filter": {"isStaff": False}}, headers=headers)
    assert refused.codes == ["BAD_REQUEST"]
    assert refused.errors[0]["message"].startswith("isStaff: You may not filter users by this")
    ordered = await gql(query, {"orderBy": [{"field": "IS_ACTIVE"}]}, headers=headers)
    assert ordered.codes == ["BAD_REQUEST"]
    assert ordered.errors[0]["message"].startswith("orderBy: You may not order users by is_active")


async def test_root_fields_resolved_together_share_the_session_safely(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """Sibling root fields and loader batches run concurrently on the request's one session
    (serialised by ``Context.database()``) and each gets its own answer."""
    data = await gql.ok(
        """query($a: UUID!, $b: UUID!) {
          a: user(uuid: $a) { username permissions { role { name } createdBy { username } } }
          b: user(uuid: $b) { username requestedEmail hasActiveSession }
          users(first: 5) { totalCount edges { node { permissions { scope { __typename } } } } }
          me { username token }
        }""",
        {"a": world.owner_a.uuid.hex, "b": world.member_b1.uuid.hex},
        headers=await factory.auth(world.staff),
    )
    assert data["a"]["username"] == "owner_a"
    assert data["b"] == {"username": "member_b1", "requestedEmail": None, "hasActiveSession": True}
    assert data["users"]["totalCount"] == len(world.users())
    assert data["me"]["username"] == "staff"
