"""The playground's saved operations (``playground/operations/*.graphql``).

Each parses, validates against the GraphQL schema and has example variables that coerce; every
query and mutation has one, and there is a subscription; ``/playground/operations.json`` serves
them all; and, run in order on the demo dataset, they do what their comments say.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from graphql import (
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    parse,
    validate,
)
from graphql import build_schema as build_sdl_schema
from graphql.execution.values import get_variable_values
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.demo.data import DemoSize
from gql_users.demo.seed import seed_demo
from gql_users.settings import Settings
from gql_users.web.playground import SavedOperation, load_operations, parse_operation
from tests.subscriptions import connect

OPERATIONS = Path(__file__).resolve().parents[2] / "playground" / "operations"
FILES = sorted(OPERATIONS.glob("*.graphql"))
QUERIES = ("me", "user", "users", "customer", "customers", "projects", "roles", "node")


def graphql_schema() -> GraphQLSchema:
    try:
        module = importlib.import_module("resolvers.schema")
    except ModuleNotFoundError as exc:
        if exc.name != "resolvers.schema":
            raise
        pytest.skip("resolvers/schema.py does not exist yet: nothing to validate against")
    built = module.build_schema() if hasattr(module, "build_schema") else module.schema
    return build_sdl_schema(built.as_str())  # graphql-core's reading of the served SDL


def operation_of(path: Path) -> OperationDefinitionNode:
    definitions = parse(path.read_text()).definitions
    assert len(definitions) == 1, f"{path.name} should hold exactly one operation"
    definition = definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    return definition


def root_fields(path: Path) -> set[tuple[str, str]]:
    definition = operation_of(path)
    return {
        (definition.operation.value, selection.name.value)  # type: ignore[attr-defined]
        for selection in definition.selection_set.selections
    }


def test_there_are_saved_operations() -> None:
    assert len(FILES) >= len(QUERIES) + 11


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_operation_explains_itself_and_its_variables(path: Path) -> None:
    saved = parse_operation(path)
    variables = operation_of(path).variable_definitions or ()
    assert saved.description, f"{path.name} needs a comment header"
    declared = {v.variable.name.value for v in variables}
    for name in declared:
        assert name in saved.description, f"the header of {path.name} does not explain {name}"
    required = {
        v.variable.name.value
        for v in variables
        if isinstance(v.type, NonNullTypeNode) and v.default_value is None
    }
    assert required <= set(saved.variables or {}), f"{path.name}: example variables missing"
    assert set(saved.variables or {}) <= declared, f"{path.name}: undeclared example variables"


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_operation_validates_and_its_example_variables_coerce(path: Path) -> None:
    schema = graphql_schema()
    errors = validate(schema, parse(path.read_text()))
    assert not errors, f"{path.name}: {[e.message for e in errors]}"
    saved = parse_operation(path)
    coerced = get_variable_values(
        schema, operation_of(path).variable_definitions or (), saved.variables or {}
    )
    # graphql-core answers a list of errors, or the coerced values
    assert not isinstance(coerced, list), f"{path.name}: {[e.message for e in coerced]}"


def test_every_query_and_every_mutation_has_an_example() -> None:
    schema = graphql_schema()
    assert schema.mutation_type is not None
    used = [field for path in FILES for field in root_fields(path)]
    for name in QUERIES:
        assert ("query", name) in used, f"no example uses the {name} query"
    for name in schema.mutation_type.fields:
        examples = [path.name for path in FILES if ("mutation", name) in root_fields(path)]
        assert len(examples) == 1, f"mutation {name} should have one example file: {examples}"
    assert ("subscription", "usersChanged") in used, "no example follows changes live"


async def test_operations_json_serves_every_file_queries_first(client: TestClient) -> None:
    response = await client.get("/playground/operations.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    served = (await response.json())["operations"]
    assert sorted(op["name"] for op in served) == sorted(path.stem for path in FILES)
    for op in served:
        assert op["document"] == (OPERATIONS / f"{op['name']}.graphql").read_text()
        assert op["description"]
    kinds = [op["kind"] for op in served]
    assert kinds == sorted(kinds, key=lambda kind: kind != "query")
    assert set(kinds) == {"query", "mutation", "subscription"}


def test_a_broken_file_is_left_out_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken.graphql").write_text(
        "# Broken.\n# Example variables:\n# {nope}\nquery { me { uuid } }"
    )
    (tmp_path / "two.graphql").write_text("query A { me { uuid } } query B { me { uuid } }")
    (tmp_path / "fine.graphql").write_text("# Fine.\nquery Fine { me { uuid } }")
    with pytest.raises(ValueError, match="broken.graphql: example variables are not JSON"):
        parse_operation(tmp_path / "broken.graphql")
    with pytest.raises(ValueError, match="two.graphql: expected one operation, found 2"):
        parse_operation(tmp_path / "two.graphql")
    with caplog.at_level(logging.ERROR, logger="gql_users.playground"):
        assert [op.name for op in load_operations(tmp_path)] == ["fine"]
    assert "broken.graphql" in caplog.text
    assert "two.graphql" in caplog.text


# --- the examples, run as the playground runs them, on the demo dataset ----------------------


class Playground:
    """Runs saved operations through /graphql as the page's fetcher does."""

    def __init__(self, client: TestClient, operations: list[dict[str, Any]]) -> None:
        self.client = client
        self.operations = {op["name"]: op for op in operations}
        self.token: str | None = None

    async def run(self, name: str, **overrides: Any) -> dict[str, Any]:
        operation = self.operations[name]
        headers = {"Accept": "application/graphql-response+json, application/json;q=0.9"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        response = await self.client.post(
            "/graphql",
            json={
                "query": operation["document"],
                "variables": {**(operation["variables"] or {}), **overrides},
            },
            headers=headers,
        )
        assert response.status in (200, 401), await response.text()
        return await response.json()


def data_of(result: dict[str, Any], field: str) -> Any:
    assert "errors" not in result, result["errors"]
    payload = result["data"][field]
    if isinstance(payload, dict) and "userErrors" in payload:
        assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def error_codes(result: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in result.get("errors", [])]


async def test_examples_do_what_their_comments_say_on_the_demo_data(
    client: TestClient, session: AsyncSession, settings: Settings
) -> None:
    await seed_demo(session, settings, DemoSize(users=40, customers=2, projects=4))
    listing = await (await client.get("/playground/operations.json")).json()
    playground = Playground(client, listing["operations"])

    assert error_codes(await playground.run("me")) == ["UNAUTHENTICATED"]
    playground.token = data_of(await playground.run("login"), "login")["token"]
    assert data_of(await playground.run("me"), "me")["username"] == "demo.staff"
    assert data_of(await playground.run("user"), "user")["username"] == "demo.owner"

    page = data_of(await playground.run("users-with-permissions"), "users")
    assert len(page["edges"]) == 5
    whole = data_of(await playground.run("users-with-permissions", first=100), "users")
    assert len(whole["edges"]) == whole["totalCount"]
    permissions = [p for edge in whole["edges"] for p in edge["node"]["permissions"]]
    assert {p["scope"]["__typename"] for p in permissions} == {"Customer", "Project"}
    assert all(p["role"]["name"] for p in permissions)
    assert any(p["createdBy"] is not None for p in permissions)
    assert any(p["customer"] is not None for p in permissions)

    filtered = data_of(await playground.run("users-filtered-and-ordered"), "users")
    assert filtered["totalCount"] > 0
    assert all(edge["node"]["isActive"] for edge in filtered["edges"])

    first = data_of(await playground.run("users-page-by-cursor", first=3), "users")
    assert first["pageInfo"]["hasNextPage"]
    second = data_of(
        await playground.run("users-page-by-cursor", first=3, after=first["pageInfo"]["endCursor"]),
        "users",
    )
    back = data_of(
        await playground.run(
            "users-page-by-cursor",
            first=None,
            last=3,
            before=second["pageInfo"]["startCursor"],
        ),
        "users",
    )
    assert back["edges"] == first["edges"]

    created = data_of(await playground.run("create-user"), "createUser")["user"]
    assert created["username"] == "ada.lovelace"
    updated = data_of(await playground.run("update-user"), "updateUser")["user"]
    assert updated["jobTitle"] == "Principal investigator"
    changing = data_of(await playground.run("change-email"), "changeEmail")["user"]
    assert changing["requestedEmail"] == "owner.new@example.org"
    cancelled = data_of(await playground.run("cancel-change-email"), "cancelChangeEmail")
    assert cancelled["cancelled"] is True
    assert cancelled["user"]["requestedEmail"] is None

    refused = (await playground.run("confirm-email"))["data"]["confirmEmail"]
    assert refused["confirmed"] is False
    assert refused["userErrors"], "the placeholder code should be refused in userErrors"

    refreshed = data_of(await playground.run("refresh-token"), "refreshToken")
    assert refreshed["token"]["userUsername"] == "demo.owner"
    assert data_of(await playground.run("change-password"), "changePassword")["user"]

    pulled = (await playground.run("pull-remote-user"))["data"]["pullRemoteUser"]
    assert pulled["synced"] is False
    assert pulled["userErrors"], "a local user is refused in userErrors"

    assert error_codes(await playground.run("delete-user")) == ["NOT_FOUND"]
    deleted = data_of(await playground.run("delete-user", uuid=created["uuid"]), "deleteUser")
    assert deleted["deletedUuid"] == created["uuid"]

    await run_the_graph_examples(playground)

    assert data_of(await playground.run("logout"), "logout")["ok"] is True
    response = await client.post(
        "/graphql",
        json={"query": playground.operations["me"]["document"]},
        headers={"Authorization": f"Token {playground.token}"},
    )
    assert response.status == 401


async def test_the_subscription_example_hears_a_change_as_the_page_runs_it(
    client: TestClient, session: AsyncSession, settings: Settings
) -> None:
    """The page sends the saved document over graphql-transport-ws with the bar's token in
    ``connection_init``; a change made meanwhile (the update-user example) arrives."""
    await seed_demo(session, settings, DemoSize(users=10, customers=1, projects=1))
    listing = await (await client.get("/playground/operations.json")).json()
    playground = Playground(client, listing["operations"])
    playground.token = data_of(await playground.run("login"), "login")["token"]
    example = playground.operations["users-changed"]
    async with connect(client, "/graphql", playground.token) as connection:
        await connection.subscribe(example["document"], example["variables"])
        for _ in range(50):  # until the subscription listens: the update reaches it
            updated = data_of(await playground.run("update-user"), "updateUser")["user"]
            try:
                change = (await connection.next_data(timeout=0.1))["usersChanged"]
                break
            except TimeoutError:
                continue
    assert change["kind"] == "UPDATED"
    assert change["user"]["username"] == updated["username"]
    assert change["user"]["jobTitle"] == "Principal investigator"


async def run_the_graph_examples(playground: Playground) -> None:
    """The customers, projects and roles examples, as demo.staff on the demo data."""
    graph = data_of(await playground.run("customers-with-projects"), "customers")
    assert len(graph["edges"]) == graph["totalCount"] == 2
    assert all(edge["node"]["projects"]["totalCount"] == 2 for edge in graph["edges"])
    holders = [
        permission["node"]["user"]["username"]
        for edge in graph["edges"]
        for project in edge["node"]["projects"]["edges"]
        for permission in project["node"]["permissions"]["edges"]
    ]
    assert len(holders) >= 4 * 3  # every demo project has three members or more
    customer = data_of(await playground.run("customer"), "customer")
    assert customer["projects"]["totalCount"] == 2
    node = data_of(await playground.run("node"), "node")
    assert (node["__typename"], node["uuid"]) == ("Customer", customer["uuid"])
    projects = data_of(await playground.run("projects-filtered-and-ordered"), "projects")
    names = [edge["node"]["name"] for edge in projects["edges"]]
    assert names == sorted(names, reverse=True) and len(names) == 2
    assert {edge["node"]["customer"]["name"] for edge in projects["edges"]} == {customer["name"]}
    roles = [role["name"] for role in data_of(await playground.run("roles"), "roles")]
    assert "PROJECT.MEMBER" in roles and "CUSTOMER.OWNER" in roles
    mine = data_of(await playground.run("my-customers-and-projects"), "me")
    assert mine["customers"]["totalCount"] == 0  # demo.staff grants roles but holds none

    created = data_of(await playground.run("create-customer"), "createCustomer")["customer"]
    assert created["abbreviation"] == "PLAYU"
    updated = data_of(await playground.run("update-customer"), "updateCustomer")["customer"]
    assert updated["description"] == "Described from the playground"
    project = data_of(await playground.run("create-project"), "createProject")["project"]
    assert project["customer"]["name"] == customer["name"]
    changed = data_of(await playground.run("update-project"), "updateProject")["project"]
    assert changed["description"] == "Described from the playground"

    granted = data_of(await playground.run("grant-role"), "grantRole")["permission"]
    assert granted["user"]["username"] == "demo.owner"
    assert granted["createdByUsername"] == "demo.staff"
    expiring = data_of(await playground.run("update-role-expiration"), "updateRoleExpiration")
    assert expiring["permission"]["expirationTime"] == "2099-12-31T00:00:00Z"
    assert data_of(await playground.run("revoke-role"), "revokeRole")["revoked"] is True

    for name, field, uuid in (
        ("delete-project", "deleteProject", project["uuid"]),
        ("delete-customer", "deleteCustomer", created["uuid"]),
    ):
        assert error_codes(await playground.run(name)) == ["NOT_FOUND"]
        assert data_of(await playground.run(name, uuid=uuid), field)["deletedUuid"] == uuid


def test_saved_operation_json_shape() -> None:
    saved = parse_operation(OPERATIONS / "user.graphql")
    assert isinstance(saved, SavedOperation)
    assert saved.as_json().keys() == {"name", "kind", "description", "document", "variables"}
    assert saved.kind == "query"
    assert "Example variables" not in saved.description
