"""The loads of a users page (the page, the permissions with their objects, the creators): rows
of only the columns the document reads, from statements built once per kind of caller and
reused by every request, which still see a grant expire; what they show is what the ORM path
(``user(uuid)``, a mutation's payload) shows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import graphql
from aiohttp.test_utils import TestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import Null

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.keyset import KeysetRequest, keyset_rows_statement
from gql_users.accounts.permission_scopes import scoped_permissions_statement
from gql_users.accounts.permissions import HOLDER_COLUMNS, OMITTABLE, permissions_statement
from gql_users.accounts.user_details import load_user_details_by_id
from gql_users.accounts.user_fields import USER_FIELD_TABLE
from gql_users.accounts.user_rows import record_class, record_columns, visible_users_by_id_statement
from gql_users.http.keys import ENGINE
from gql_users.settings import Settings
from resolvers.users.planning import CUSTOMER_UUIDS, SCOPE_UUIDS
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.graphql.test_planning import populate
from tests.graphql.test_schema_file import SCHEMA_FILE
from tests.world import VISIBLE_TO, World

BENCH_PAGE = """query Page($first: Int!) { users(first: $first) { edges { node {
  uuid username fullName email permissions {
    role { name } scope { ... on Customer { uuid name } ... on Project { uuid name } }
    customer { uuid name } createdBy { username } } } } } }"""
"""The bench's document: rows of six columns, REST's permissions statement less the columns
it does not read (``BENCH_PAGE_OMITS``), the creators."""
BENCH_PAGE_OMITS = OMITTABLE - set(SCOPE_UUIDS)

PAGE = "{ users(first: 50) { edges { node { %s } } } }"
SMALL_PAGE = "{ users(first: 10) { edges { node { %s } } } }"
ONE = "query One($uuid: UUID!) { user(uuid: $uuid) { %s } }"
PAGE_COLUMNS = record_columns(["uuid", "username", "first_name", "last_name", "email"])
CREATOR_COLUMNS = record_columns(["username"])

EVERY_USER_FIELD = " ".join(
    ["id", *(entry.graphql_name for entry in USER_FIELD_TABLE if entry.name != "permissions")]
)


@contextmanager
def executed_statements(client: TestClient) -> Iterator[list[Any]]:
    """The statement objects the app runs inside the block, in order."""
    server: Any = client.server
    engine: AsyncEngine = server.app[ENGINE]
    executed: list[Any] = []

    def record(_connection: Any, statement: Any, *_args: Any) -> None:
        executed.append(statement)

    event.listen(engine.sync_engine, "before_execute", record)
    try:
        yield executed
    finally:
        event.remove(engine.sync_engine, "before_execute", record)


def ran(statement: Any, executed: list[Any]) -> bool:
    return any(run is statement for run in executed)


async def test_callers_of_a_kind_share_the_statements_of_the_page_and_its_loads(
    gql: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """Two owners of two customers run the very same statement objects (their ids are
    parameters), each seeing their own users; a staff user runs another page statement."""
    staff = await factory.user("aaa_staff", is_staff=True)
    owners = []
    for name in ("one", "two"):
        customer = await factory.customer(f"Customer {name}")
        owner = await factory.person(f"owner_{name}")
        member = await factory.person(f"member_{name}")
        await factory.grant(owner, "CUSTOMER.OWNER", customer, created_by=staff)
        await factory.grant(member, "CUSTOMER.SUPPORT", customer, created_by=owner)
        owners.append(owner)
    dialect = engine.dialect.name
    for owner in owners:
        caller = Caller(user=owner)
        page = keyset_rows_statement(
            caller, UserFilter(), [], KeysetRequest(limit=50), PAGE_COLUMNS
        )
        creators = visible_users_by_id_statement(caller, dialect, CREATOR_COLUMNS)
        headers = await factory.auth(owner)
        with executed_statements(gql.client) as executed:
            data = await gql.ok(BENCH_PAGE, {"first": 50}, headers=headers)
        assert ran(page, executed) and ran(creators, executed)
        assert ran(permissions_statement(dialect, BENCH_PAGE_OMITS), executed)
        assert not ran(scoped_permissions_statement(dialect), executed)
        nodes = {edge["node"]["username"]: edge["node"] for edge in data["users"]["edges"]}
        suffix = owner.username.removeprefix("owner_")
        assert set(nodes) == {f"owner_{suffix}", f"member_{suffix}"}
        [granted] = nodes[f"member_{suffix}"]["permissions"]
        assert granted["createdBy"] == {"username": owner.username}
        assert nodes[owner.username]["permissions"][0]["createdBy"] is None  # staff: hidden
    staff_caller = Caller(user=staff)
    staff_page = keyset_rows_statement(
        staff_caller, UserFilter(), [], KeysetRequest(limit=50), PAGE_COLUMNS
    )
    assert staff_page is not keyset_rows_statement(
        Caller(user=owners[0]), UserFilter(), [], KeysetRequest(limit=50), PAGE_COLUMNS
    )
    # Staff see every user: the creators come with the permissions, one statement fewer.
    with executed_statements(gql.client) as executed:
        by_staff = await gql(BENCH_PAGE, {"first": 50}, headers=await factory.auth(staff))
    assert ran(staff_page, executed)
    assert not ran(visible_users_by_id_statement(staff_caller, dialect, CREATOR_COLUMNS), executed)
    assert not ran(permissions_statement(dialect, BENCH_PAGE_OMITS), executed)
    by_owner = await gql(BENCH_PAGE, {"first": 50}, headers=await factory.auth(owners[0]))
    assert not by_staff.errors and not by_owner.errors
    assert by_staff.sql_count == by_owner.sql_count - 1
    members = [
        edge["node"]
        for edge in by_staff.data["users"]["edges"]
        if edge["node"]["username"].startswith("member_")
    ]
    assert [node["permissions"][0]["createdBy"] for node in members] == [
        {"username": "owner_one"},
        {"username": "owner_two"},
    ]


async def test_a_cursor_is_a_parameter_of_the_page_statement(
    gql: GraphQLClient, factory: Factory
) -> None:
    """Every page after the first runs one statement object, the cursor's position bound."""
    staff, _member = await populate(factory, 6)
    headers = await factory.auth(staff)
    document = """query Page($after: String) { users(first: 2, after: $after) {
      pageInfo { endCursor hasNextPage } edges { node { username } } } }"""
    caller = Caller(user=staff)
    columns = record_columns(["username"])
    first = keyset_rows_statement(caller, UserFilter(), [], KeysetRequest(limit=2), columns)
    position = ("someone", uuid4())
    later = KeysetRequest(limit=2, after=position)
    following = keyset_rows_statement(caller, UserFilter(), [], later, columns)
    assert following is not first
    seen: list[str] = []
    after = None
    while True:
        with executed_statements(gql.client) as executed:
            data = await gql.ok(document, {"after": after}, headers=headers)
        assert ran(following if after else first, executed)
        page = data["users"]
        seen += [edge["node"]["username"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 10


async def test_a_grant_that_expires_between_two_requests_drops_out_of_the_cached_statements(
    gql: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """The time of the current-role check is taken at each execution: the colleague whose
    only grant expires leaves the owner's page, and the role they granted loses its visible
    creator (docs/visibility.md#current-roles)."""
    customer = await factory.customer("Expiring")
    project = await factory.project(customer, "Expiring project")
    owner = await factory.person("owner_x")
    colleague = await factory.person("colleague_x")
    member = await factory.person("member_x")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    await factory.grant(colleague, "CUSTOMER.SUPPORT", customer, expiration_time=expires)
    await factory.grant(member, "PROJECT.MEMBER", project, created_by=colleague)
    headers = await factory.auth(owner)
    fields = "username permissions { roleName createdBy { username } createdByUsername }"
    document = PAGE % fields

    caller = Caller(user=owner)
    columns = record_columns(["username"])
    dialect = engine.dialect.name
    cached = [
        keyset_rows_statement(caller, UserFilter(), [], KeysetRequest(limit=50), columns),
        permissions_statement(dialect, OMITTABLE),  # the fields read none of those columns
        visible_users_by_id_statement(caller, dialect, columns),
    ]

    async def page() -> dict[str, Any]:
        with executed_statements(gql.client) as executed:
            data = await gql.ok(document, headers=headers)
        assert all(ran(statement, executed) for statement in cached)
        return {edge["node"]["username"]: edge["node"] for edge in data["users"]["edges"]}

    before = await page()
    assert datetime.now(UTC) < expires, "the first request came too late to see the grant"
    assert set(before) == {"owner_x", "colleague_x", "member_x"}
    [granted] = before["member_x"]["permissions"]
    assert granted["createdBy"] == {"username": "colleague_x"}
    await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.2)
    after = await page()
    assert set(after) == {"owner_x", "member_x"}
    [granted] = after["member_x"]["permissions"]
    assert granted == {"roleName": "PROJECT.MEMBER", "createdBy": None, "createdByUsername": None}


async def test_a_field_reads_no_column_but_its_own(
    factory: Factory, session: Any, settings: Settings
) -> None:
    """Each entry's value from a row of only its ``columns`` (and the id and uuid) equals its
    value from the whole user: a row loaded for a selection has what its fields read."""
    user = await factory.person(
        "ada_lovelace", affiliations=["staff@example.org"], image="ada.png", job_title="Count"
    )
    [details] = (await load_user_details_by_id(session, [user.id])).values()
    for entry in USER_FIELD_TABLE:
        columns = record_columns(entry.columns)
        row = record_class(columns)(*(getattr(user, column) for column in columns))
        assert entry.value(row, settings, details) == entry.value(user, settings, details), entry
        assert entry.source.loaded or entry.columns, f"{entry.name} reads no column?"


async def test_a_page_shows_each_user_as_the_user_query_does(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """Rows of the page (only the selected columns) and the ORM user of ``user(uuid)`` give
    the same fields, for a privileged caller and for members (hidden fields included)."""
    fields = f"{EVERY_USER_FIELD} permissions {{ roleName createdBy {{ {EVERY_USER_FIELD} }} }}"
    for name in ("staff", "owner_a", "member_b1"):
        caller = world.user(name)
        headers = await factory.auth(caller)
        data = await gql.ok(PAGE % fields, headers=headers)
        nodes = [edge["node"] for edge in data["users"]["edges"]]
        assert sorted(node["username"] for node in nodes) == VISIBLE_TO[name]
        for node in nodes:
            if node["username"] == caller.username:
                continue  # its own token shows on its own, not on a page of many
            one = await gql.ok(
                ONE % fields,
                {"uuid": node["uuid"]},
                headers=headers,
            )
            assert one["user"] == node, (name, node["username"])


OBJECTS_IN_FULL = [
    "role { scopeType }",
    "role { isActive isSystemRole }",
    "scope { ... on Customer { abbreviation } }",
    "scope { ... on Customer { description created } }",
    "scope { ... on Project { description created } }",
    "scope { ... on Project { customer { abbreviation description created } } }",
    "customer { abbreviation }",
    "customer { description created }",
]
FROM_THE_ROW = (
    "role { uuid name description } customer { id uuid name } "
    "scope { __typename ... on Customer { id uuid name } "
    "... on Project { id uuid name customer { id uuid name } } }"
)


async def test_the_objects_of_a_permission_read_in_full_or_from_its_row_agree(
    gql: GraphQLClient, factory: Factory
) -> None:
    """A selection of what the permission row holds loads REST's statement; one more field of
    a role, scope or customer loads them in full; both show what loading on demand shows
    (a mutation's payload), and so do the creators that staff read from the same rows."""
    staff, member = await populate(factory, 2)
    headers = await factory.auth(staff)
    variables = {"uuid": str(member.uuid)}
    creator = f"createdBy {{ {EVERY_USER_FIELD} }} createdByUsername"
    for extra in ["", *OBJECTS_IN_FULL]:
        selection = f"username permissions {{ {FROM_THE_ROW} {creator} {extra} }}"
        await shown_alike(gql, selection, variables, headers, "member_zzz")


def test_a_row_of_users_has_the_columns_of_its_fields_only() -> None:
    columns = record_columns(["username", "password", "details"])
    assert columns == ("id", "uuid", "username")  # never the password hash nor the claims
    row = record_class(columns)(1, uuid4(), "narrow")
    assert not hasattr(row, "email") and not hasattr(row, "password")


async def test_the_objects_and_creators_of_permissions_come_from_the_joins_of_rest(
    gql: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """The permissions statement with the objects in full and the creators reads their
    columns from the rows REST's statement joins already: no table is joined twice (and the
    holder not at all when no field reads its columns)."""
    staff, _member = await populate(factory, 3)
    fields = (
        "username permissions { role { name isActive } createdBy { username fullName } "
        "scope { ... on Customer { abbreviation } ... on Project { description } } }"
    )
    with executed_statements(gql.client) as executed:
        data = await gql.ok(PAGE % fields, headers=await factory.auth(staff))
    granted = [p for edge in data["users"]["edges"] for p in edge["node"]["permissions"]]
    assert any(p["createdBy"] for p in granted) and any(p["scope"] for p in granted)

    def joins(statement: Any) -> int:
        return str(statement.compile(dialect=engine.dialect)).count(" JOIN ")

    rest = permissions_statement(engine.dialect.name)
    scoped = [run for run in executed if "scope_customer_abbreviation" in str(run)]
    assert len(scoped) == 1
    assert joins(scoped_permissions_statement(engine.dialect.name)) == joins(rest) == 6
    assert joins(scoped[0]) == 5  # REST's, less the holder's: no field read its columns


async def test_the_permissions_statement_selects_only_the_columns_the_document_reads(
    gql: GraphQLClient, factory: Factory
) -> None:
    """Beyond REST's columns, only those of the fields selected: a role's ``isActive`` adds
    one column, a customer's ``abbreviation`` its two ways of meeting the customer, and the
    creators of a staff caller add only what the permission row lacks (their uuid)."""
    staff, _member = await populate(factory, 2)
    headers = await factory.auth(staff)
    cases = {
        "role { isActive }": {"role_is_active"},
        "customer { abbreviation }": {
            "scope_customer_abbreviation",
            "project_customer_abbreviation",
        },
        "createdBy { username fullName }": {"granted_by_uuid"},
        "role { name } scope { ... on Project { name } }": set(),
    }
    for selection, added in cases.items():
        with executed_statements(gql.client) as executed:
            data = await gql.ok(PAGE % f"username permissions {{ {selection} }}", headers=headers)
        assert data["users"]["edges"], selection
        [statement] = [run for run in executed if "user_roles" in str(run)]
        keys = {column.key for column in statement.selected_columns}
        rest = {column.key for column in permissions_statement("other").selected_columns}
        assert keys - rest == added, selection


OMITTED_CASES = {
    "role { name } scope { ... on Customer { uuid name } ... on Project { uuid name } } "
    "customer { uuid name } createdBy { username }": OMITTABLE
    - {"scope_customer_uuid", "project_uuid", "project_customer_uuid"},
    "id userName created": OMITTABLE - {"uuid", "user_first_name", "user_last_name", "created"},
    "roleUuid scopeUuid": OMITTABLE - {"role_uuid", *SCOPE_UUIDS},
    "customer { id } role { description }": OMITTABLE - {*CUSTOMER_UUIDS, "role_description"},
    "userSlug expirationTime scope { ... on Project { customer { uuid } } }": OMITTABLE
    - {"user_slug", "expiration_time", *CUSTOMER_UUIDS},
}


async def test_the_permissions_statement_leaves_out_the_columns_no_field_reads(
    gql: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """The uuids, datetimes, role description and holder columns that no selected field
    reads are NULL in the permissions statement, and the holder is joined only for a field
    that reads one of its columns."""
    staff, _member = await populate(factory, 2)
    headers = await factory.auth(staff)
    for selection, omitted in OMITTED_CASES.items():
        with executed_statements(gql.client) as executed:
            data = await gql.ok(PAGE % f"username permissions {{ {selection} }}", headers=headers)
        assert any(edge["node"]["permissions"] for edge in data["users"]["edges"]), selection
        [statement] = [run for run in executed if "user_roles" in str(run)]
        nulls = {
            column.key
            for column in statement.selected_columns
            if isinstance(getattr(column, "element", None), Null)
        }
        assert nulls == omitted, selection
        sql = str(statement.compile(dialect=engine.dialect))
        assert ("AS holder" in sql) == (not omitted >= set(HOLDER_COLUMNS)), selection


def each_field_of_a_permission() -> list[str]:
    """Selections of each field of ``Permission`` alone, and of each field of its role,
    scope (of each kind) and customer alone, from ``schema.graphql``: a field added later is
    covered. A user (``user``, ``createdBy``) is selected with every field of a user, and the
    connections below a scope with their first item's id."""
    schema = graphql.build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    permission = schema.type_map["Permission"]
    assert isinstance(permission, graphql.GraphQLObjectType)
    selections = []
    for name, field in permission.fields.items():
        kind = graphql.get_named_type(field.type)
        if graphql.is_leaf_type(kind):
            selections.append(name)
        elif kind.name == "User":
            selections.append(f"{name} {{ {EVERY_USER_FIELD} }}")
        else:
            union = isinstance(kind, graphql.GraphQLUnionType)
            members = kind.types if union else [kind]
            for member in members:
                for inner in fields_alone(member):
                    on = f"... on {member.name} {{ {inner} }}" if union else inner
                    selections.append(f"{name} {{ {on} }}")
    return selections


def fields_alone(object_type: Any) -> list[str]:
    out = []
    for name, field in object_type.fields.items():
        kind = graphql.get_named_type(field.type)
        if graphql.is_leaf_type(kind):
            out.append(name)
        elif name == "customer":
            out.append("customer { id uuid name abbreviation description created }")
        else:  # a connection
            out.append(f"{name}(first: 1) {{ edges {{ node {{ id }} }} }}")
    return out


async def test_each_field_of_a_permission_alone_shows_what_loading_on_demand_shows(
    gql: GraphQLClient, factory: Factory
) -> None:
    """A selection of one field leaves out of the permissions statement every column it can
    (``planning.omitted_columns``): its value, planned for one user and on a page, is still
    what loading on demand gives (a mutation's payload), for roles in customers and projects."""
    staff, _member = await populate(factory, 2)
    headers = await factory.auth(staff)
    listed = await gql.ok(SMALL_PAGE % "uuid username", headers=headers)
    [uuid] = [
        e["node"]["uuid"] for e in listed["users"]["edges"] if e["node"]["username"] == "member_000"
    ]
    variables = {"uuid": uuid}
    selections = each_field_of_a_permission()
    assert {"id", "created", "role { uuid }", "scope { ... on Project { uuid } }"} <= set(
        selections
    )
    for one in selections:
        selection = f"username permissions {{ {one} }}"
        shown = await shown_alike(gql, selection, variables, headers, "member_000")
        assert len(shown["permissions"]) == 2, one  # a customer's role, a project's


async def shown_alike(
    gql: GraphQLClient,
    selection: str,
    variables: dict[str, Any],
    headers: dict[str, str],
    username: str,
) -> dict[str, Any]:
    """The user ``variables`` name (``username``) with ``selection``: planned (``user``),
    loaded on demand (a mutation's payload) and on a page, all three the same."""
    planned = await gql.ok(ONE % selection, variables, headers=headers)
    on_demand = await gql.ok(
        f"""mutation Same($uuid: UUID!) {{
          updateUser(uuid: $uuid, input: {{}}) {{ user {{ {selection} }} }}
        }}""",
        variables,
        headers=headers,
    )
    assert planned["user"] == on_demand["updateUser"]["user"], selection
    page = await gql.ok(SMALL_PAGE % selection, headers=headers)
    [mine] = [e["node"] for e in page["users"]["edges"] if e["node"]["username"] == username]
    assert mine == planned["user"], selection
    shown: dict[str, Any] = planned["user"]
    return shown
