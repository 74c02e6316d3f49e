"""Look-ahead (resolvers/users/planning.py) and the executor's short path for plain fields
(resolvers/execution.py): what a query plans gives the same answers as what loads on demand,
whatever way the document is written, in a fixed number of statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql_users.db.models import User
from gql_users.settings import Settings
from resolvers.execution import PlainFieldsExecutor, executor_for, plain_fields
from resolvers.schema import build_schema
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

USER_FIELDS = """
  id uuid username fullName email isStaff token tokenExpiresAt hasActiveSession requestedEmail
  birthDate affiliations identityProviderFields ipAddress
  permissions {
    id userName roleName scopeType scopeName customerName createdByUsername createdByFullName
    role { uuid name description scopeType isActive isSystemRole }
    scope { __typename ... on Customer { id uuid name abbreviation description created }
            ... on Project { id uuid name description created
                             customer { id name abbreviation description } } }
    customer { id uuid name }
    user { id username permissions { roleName } }
    createdBy { username email hasActiveSession permissions { roleName role { name } } }
  }
"""

PAGE = "query Page($first: Int!) { users(first: $first) { edges { node { %s } } } }"

WRITTEN_OTHERWISE = """
query Page($first: Int!) {
  users(first: $first) { edges { node { ...Person } } }
}
fragment Person on User {
  username
  roles: permissions { roleName }
  permissions { ... on Permission { role { name } } scope { ...Place } }
  permissions { granter: createdBy { ...Granter } createdByUsername }
}
fragment Place on Scope { ... on Customer { name } ... on Project { name } }
fragment Granter on User { username permissions { roleName } }
"""

GRAPH = """
query Graph($first: Int!) {
  users(first: $first) { edges { node {
    id username
    customers(first: 2) { totalCount edges { node { id name projects(first: 2) {
      edges { node { id name customer { id } } } } } } }
    projects(first: 2) { edges { node { id permissions(first: 3) {
      edges { node { id role { name } scope { __typename } customer { name } user { id } } }
    } } } }
  } } }
}
"""

PLAIN = """
query Page($first: Int!) {
  users(first: $first) { edges { node {
    username
    roles: permissions { roleName }
    permissions {
      role { name }
      scope { ... on Customer { name } ... on Project { name } }
      granter: createdBy { username permissions { roleName } }
      createdByUsername
    }
  } } }
}
"""


async def populate(factory: Factory, count: int) -> tuple[User, User]:
    """``count`` members, each with a customer role and a project role granted by one of two
    creators, who hold a role themselves; a staff user, and a member whose role a staff user
    granted (a creator no normal user may see)."""
    staff = await factory.user("aaa_staff", is_staff=True)
    async with factory.batch():
        creators = [await factory.person(f"creator_{n}") for n in range(2)]
        customer = await factory.customer("Customer", abbreviation="CU", description="Cu.")
        project = await factory.project(customer, "Project")
        for creator in creators:
            await factory.grant(creator, "PROJECT.MEMBER", project, created_by=staff)
        for number in range(count):
            user = await factory.person(f"member_{number:03d}")
            creator = creators[number % len(creators)]
            await factory.grant(user, "CUSTOMER.MANAGER", customer, created_by=creator)
            await factory.grant(user, "PROJECT.ADMIN", project, created_by=creator)
    member = await factory.person("member_zzz")
    await factory.grant(member, "PROJECT.MEMBER", project, created_by=staff)
    return staff, member


@contextmanager
def general_executor(settings: Settings) -> Iterator[None]:
    """graphql-core's executor in place of the short path, for the app built from
    ``settings`` (the schema is built once per set of limits, so it is the app's)."""
    schema = build_schema(settings)
    assert issubclass(schema.execution_context_class, PlainFieldsExecutor)
    kept = schema.execution_context_class
    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    try:
        yield
    finally:
        schema.execution_context_class = kept


def errors_without_ids(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (error["message"], tuple(error.get("path") or ()), error["extensions"].get("code"))
        for error in body.get("errors") or []
    ]


async def test_a_page_and_its_permission_graph_cost_one_or_two_statements_more_than_the_page(
    gql: GraphQLClient, factory: Factory
) -> None:
    staff, member = await populate(factory, 12)
    graph_fields = (
        "uuid permissions { role { name } scope { ... on Project { name } } "
        "customer { name } createdBy { username } }"
    )
    # The permissions with their roles, scopes and (for staff, who see every user) creators:
    # one statement; anyone else's creators: one more.
    for caller, more in ((staff, 1), (member, 2)):
        headers = await factory.auth(caller)
        await gql(PAGE % "uuid", {"first": 1}, headers=headers)  # the process loads its key
        bare = await gql(PAGE % "uuid", {"first": 10}, headers=headers)
        graph = await gql(PAGE % graph_fields, {"first": 10}, headers=headers)
        assert not bare.errors and not graph.errors
        nodes = graph.data["users"]["edges"]
        assert any(p["createdBy"] for node in nodes for p in node["node"]["permissions"])
        assert graph.sql_count == bare.sql_count + more, caller.username


async def test_the_holders_and_scopes_of_a_page_cost_the_same_whatever_its_size(
    gql: GraphQLClient, factory: Factory
) -> None:
    staff, _member = await populate(factory, 12)
    headers = await factory.auth(staff)
    fields = (
        "username permissions { id user { username permissions { roleName } } "
        "scope { ... on Customer { id } ... on Project { id customer { id name } } } }"
    )
    await gql(PAGE % "uuid", {"first": 1}, headers=headers)  # the process loads its cursor key
    bare = await gql(PAGE % "uuid", {"first": 10}, headers=headers)
    small = await gql(PAGE % fields, {"first": 3}, headers=headers)
    large = await gql(PAGE % fields, {"first": 10}, headers=headers)
    assert not bare.errors and not small.errors and not large.errors
    nodes = [edge["node"] for edge in large.data["users"]["edges"]]
    permissions = [(node, p) for node in nodes for p in node["permissions"]]
    assert len(permissions) >= 10
    for node, permission in permissions:  # the holder of a user's role is that user
        assert permission["user"]["username"] == node["username"]
        assert len(permission["user"]["permissions"]) == len(node["permissions"])
    customers = [p["scope"].get("customer") for _node, p in permissions]
    assert {customer["name"] for customer in customers if customer} == {"Customer"}
    # The permissions with their objects, then the holders and their own permissions.
    assert small.sql_count == large.sql_count <= bare.sql_count + 3


async def test_the_holders_of_a_page_are_its_own_users_without_a_statement(
    gql: GraphQLClient, factory: Factory
) -> None:
    """The holder of a user's permission is that user: read from the page's rows when they
    hold what the holder's selection reads, else loaded (one statement), alike."""
    staff, member = await populate(factory, 6)
    for caller in (staff, member):
        headers = await factory.auth(caller)
        await gql(PAGE % "uuid", {"first": 1}, headers=headers)  # the process loads its key
        bare = await gql(PAGE % "uuid username email permissions { roleName }", {"first": 20},
                         headers=headers)  # fmt: skip
        held = await gql(
            PAGE % "uuid username email permissions { roleName user { username email } }",
            {"first": 20},
            headers=headers,
        )
        narrow = await gql(
            PAGE % "uuid permissions { roleName user { username email } }",
            {"first": 20},
            headers=headers,
        )
        assert not bare.errors and not held.errors and not narrow.errors
        assert held.sql_count == bare.sql_count, caller.username
        assert narrow.sql_count == bare.sql_count + 1, caller.username
        nodes = [edge["node"] for edge in held.data["users"]["edges"]]
        assert sum(len(node["permissions"]) for node in nodes) >= 6
        for node in nodes:
            for permission in node["permissions"]:
                assert permission["user"] == {"username": node["username"], "email": node["email"]}
        assert [edge["node"] for edge in narrow.data["users"]["edges"]] == [
            {"uuid": node["uuid"], "permissions": node["permissions"]} for node in nodes
        ]


TOTAL = """query Page($after: String, $filter: UserFilterInput) {
  users(first: 4, after: $after, filter: $filter) {
    %s pageInfo { endCursor hasNextPage } edges { node { uuid } }
  }
}"""


async def test_the_total_comes_with_the_page_and_counts_the_whole_list(
    gql: GraphQLClient, factory: Factory
) -> None:
    """``totalCount`` is counted in the page's statement, on every page of a walk, whatever
    the caller and filter; a page past the end counts it apart."""
    staff, member = await populate(factory, 9)
    for caller in (staff, member):
        headers = await factory.auth(caller)
        await gql(PAGE % "uuid", {"first": 1}, headers=headers)  # the process loads its key
        for user_filter in (None, {"query": "member_00"}, {"username": "nobody"}):
            variables: dict[str, Any] = {"filter": user_filter}
            every = await gql.ok(
                "query Every($filter: UserFilterInput) { users(first: 100, filter: $filter) "
                "{ edges { node { uuid } } } }",
                variables,
                headers=headers,
            )
            expected = len(every["users"]["edges"])
            after = None
            while True:
                variables["after"] = after
                bare = await gql(TOTAL % "", variables, headers=headers)
                counted = await gql(TOTAL % "totalCount", variables, headers=headers)
                assert not bare.errors and not counted.errors
                page = counted.data["users"]
                assert page["totalCount"] == expected, (caller.username, user_filter)
                extra = 0 if page["edges"] else 1  # nothing on the page to count it with
                assert counted.sql_count == bare.sql_count + extra
                if not page["edges"]:
                    break
                after = page["pageInfo"]["endCursor"]


async def test_the_way_a_document_is_written_does_not_change_what_is_planned(
    gql: GraphQLClient, factory: Factory
) -> None:
    staff, _member = await populate(factory, 6)
    headers = await factory.auth(staff)
    await gql(PAGE % "uuid", {"first": 1}, headers=headers)
    plain = await gql(PLAIN, {"first": 8}, headers=headers)
    written = await gql(WRITTEN_OTHERWISE, {"first": 8}, headers=headers)
    assert not plain.errors and not written.errors
    assert written.data == plain.data
    assert written.sql_count == plain.sql_count


async def test_planned_and_loaded_on_demand_give_the_same_user(
    gql: GraphQLClient, factory: Factory, session: AsyncSession
) -> None:
    """The ``user`` query plans its user; a mutation's payload loads each part on demand."""
    staff, member = await populate(factory, 3)
    headers = await factory.auth(staff)
    variables = {"uuid": str(member.uuid)}
    planned = await gql.ok(
        f"query One($uuid: UUID!) {{ user(uuid: $uuid) {{ {USER_FIELDS} }} }}",
        variables,
        headers=headers,
    )
    on_demand = await gql.ok(
        f"""mutation Same($uuid: UUID!) {{
          updateUser(uuid: $uuid, input: {{}}) {{ user {{ {USER_FIELDS} }} }}
        }}""",
        variables,
        headers=headers,
    )
    assert on_demand["updateUser"]["user"] == planned["user"]
    [permission] = planned["user"]["permissions"]
    assert permission["createdBy"]["username"] == "aaa_staff"
    customer = permission["scope"]["customer"]
    assert customer == {
        "id": customer["id"],
        "name": "Customer",
        "abbreviation": "CU",
        "description": "Cu.",
    }
    assert permission["user"] == {
        "id": planned["user"]["id"],
        "username": "member_zzz",
        "permissions": [{"roleName": permission["roleName"]}],
    }


async def test_a_creator_the_caller_may_not_see_is_null_planned_or_not(
    gql: GraphQLClient, factory: Factory
) -> None:
    _staff, member = await populate(factory, 2)
    headers = await factory.auth(member)
    fields = "username permissions { createdBy { username } createdByUsername createdByFullName }"
    page = await gql.ok(PAGE % fields, {"first": 50}, headers=headers)
    me = await gql.ok(f"{{ me {{ {fields} }} }}", headers=headers)
    [mine] = [e["node"] for e in page["users"]["edges"] if e["node"]["username"] == "member_zzz"]
    assert mine == me["me"]
    hidden = {"createdBy": None, "createdByUsername": None, "createdByFullName": None}
    assert me["me"]["permissions"] == [hidden]
    by_user = {e["node"]["username"]: e["node"]["permissions"] for e in page["users"]["edges"]}
    # The creators' own roles were granted by the staff user too; theirs, by the creators.
    assert by_user["creator_0"] == [hidden]
    granted_by_creators = by_user["member_000"] + by_user["member_001"]
    assert len(granted_by_creators) == 4
    assert all(p["createdBy"] and p["createdByUsername"] for p in granted_by_creators)


async def test_the_short_path_answers_as_graphql_core_does(
    gql: GraphQLClient, factory: Factory, settings: Settings
) -> None:
    staff, member = await populate(factory, 3)
    documents = [
        (PAGE % USER_FIELDS, {"first": 10}),
        (f"{{ me {{ {USER_FIELDS} }} }}", None),
        (WRITTEN_OTHERWISE, {"first": 5}),
        ("{ users(first: 2) { totalCount pageInfo { hasNextPage endCursor } } }", None),
        (GRAPH, {"first": 10}),
    ]
    for caller in (staff, member):
        headers = await factory.auth(caller)
        for document, variables in documents:
            short = await gql(document, variables, headers=headers)
            with general_executor(settings):
                general = await gql(document, variables, headers=headers)
            assert short.status == general.status == 200
            assert short.data == general.data
            assert errors_without_ids(short.body) == errors_without_ids(general.body)


async def test_a_failed_planned_load_fails_only_its_fields_on_either_path(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, settings: Settings
) -> None:
    staff, _member = await populate(factory, 2)
    headers = await factory.auth(staff)
    await session.execute(text("DROP TABLE email_change_requests"))
    await session.commit()
    document = "{ users(first: 2) { edges { node { username requestedEmail } } } }"
    short = await gql(document, headers=headers)
    with general_executor(settings):
        general = await gql(document, headers=headers)
    for response in (short, general):
        nodes = [edge["node"] for edge in response.data["users"]["edges"]]
        assert nodes == [
            {"username": "aaa_staff", "requestedEmail": None},
            {"username": "creator_0", "requestedEmail": None},
        ]
        assert {tuple(error["path"]) for error in response.errors} == {
            ("users", "edges", 0, "node", "requestedEmail"),
            ("users", "edges", 1, "node", "requestedEmail"),
        }
        assert set(response.codes) == {"INTERNAL_SERVER_ERROR"}


# --- the short path on its own, with every way a plain field can go wrong --------------------


@strawberry.type
class Child:
    number: int
    text: str | None


@strawberry.type
class Other:
    name: str


@strawberry.type
class Parent:
    label: str
    child: Child
    maybe: Child | None
    either: Annotated[Child | Other, strawberry.union("Either")]
    children: list[Child]


class Failing(Child):
    """A ``Child`` whose ``number`` raises when read."""

    @property  # type: ignore[override]
    def number(self) -> int:
        raise RuntimeError("no number")


def child(number: Any, text: str | None = "t") -> Child:
    made = object.__new__(Child)
    made.number, made.text = number, text
    return made


async def later(value: Any) -> Any:
    return value


def parents() -> list[Parent | None]:
    failing = object.__new__(Failing)
    failing.text = "f"
    cases = [
        (child(1), None, Other(name="o")),
        (child(2, None), child(3), child(4)),  # a failing child in a non-null list
        (failing, child(5), Other(name="p")),  # a non-null error reaches the list item
        (child(6), failing, failing),  # nullable: maybe is null; either is not, so the item
        (child("seven"), child(8), child(9)),  # a coercion error
        (child(later(10)), child(11, later("x")), child(12)),  # awaitables
    ]
    made: list[Parent | None] = []
    for n, (a, b, c) in enumerate(cases):
        children = [child(n), failing] if n == 1 else [child(n), child(n + 1, None)]
        made.append(Parent(label=f"p{n}", child=a, maybe=b, either=c, children=children))
    return made


@strawberry.type
class Query:
    @strawberry.field
    def parents(self) -> list[Parent | None]:
        return parents()


SHAPES = """{ parents { label child { number text } maybe { number text }
  either { __typename ... on Child { number } ... on Other { name } }
  children { number text } } }"""


async def test_the_short_path_completes_and_fails_as_graphql_core_does() -> None:
    schema = strawberry.Schema(query=Query)
    general = await schema.execute(SHAPES)
    schema.execution_context_class = executor_for(schema._schema)
    short = await schema.execute(SHAPES)
    assert short.data == general.data
    assert [(e.message, e.path) for e in short.errors or []] == [
        (e.message, e.path) for e in general.errors or []
    ]
    assert general.data is not None and general.errors
    assert [p["label"] if p else None for p in general.data["parents"]] == [
        "p0", None, None, None, None, "p5",
    ]  # fmt: skip
    assert general.data["parents"][0]["children"] == [
        {"number": 0, "text": "t"},
        {"number": 1, "text": None},
    ]


def test_the_short_path_takes_the_fields_of_nodes_and_their_ids(settings: Settings) -> None:
    """Every ``Node`` has an ``is_type_of`` (Strawberry's, for its interface) and an ``id``
    resolver: neither keeps its fields off the short path."""
    plain = {
        object_type.name: fields
        for object_type, fields in plain_fields(build_schema(settings)._schema).items()
    }
    assert {"id", "user", "createdBy", "role", "scope", "roleName"} <= plain["Permission"].keys()
    assert {"id", "username", "token"} <= plain["User"].keys()
    assert "customers" not in plain["User"]  # it takes arguments: graphql-core's way
    union_types = plain["Permission"]["scope"].union_types or {}
    assert {member.name for member in union_types.values()} == {"Customer", "Project"}
