"""Customers, projects and their permissions over GraphQL, for every caller kind of the world
(docs/visibility.md#visible-customers-and-projects): the lists, the lookups by uuid, the nested
lists of customers, projects and users, and an expired role that stops counting with no write."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from gql_users.db.models import utcnow
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.world import (
    CURRENT_HOLDERS,
    VISIBLE_CUSTOMERS,
    VISIBLE_PROJECTS,
    VISIBLE_TO,
    World,
)

HOLDERS = "permissions(first: 10) { totalCount edges { node { roleName user { username } } } }"
CUSTOMERS = f"""{{
  customers {{ totalCount edges {{ node {{
    name {HOLDERS}
    projects(first: 10) {{ totalCount edges {{ node {{ name {HOLDERS} }} }} }}
  }} }} }}
}}"""
PROJECTS = f"""{{
  projects {{ totalCount edges {{ node {{ name customer {{ name }} {HOLDERS} }} }} }}
}}"""
ME = """{ me {
  customers { totalCount edges { node { name } } }
  projects { totalCount edges { node { name } } }
} }"""
CALLERS = sorted(VISIBLE_TO)


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [edge["node"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(nodes)
    return nodes


def holders(scope: dict[str, Any]) -> list[str]:
    return [permission["user"]["username"] for permission in nodes(scope["permissions"])]


def expected_holders(caller: str, scope: str) -> list[str]:
    return [name for name in CURRENT_HOLDERS[scope] if name in VISIBLE_TO[caller]]


async def test_customers_their_projects_and_permissions_for_every_caller(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """Compared as one dict, so a failure names the caller."""
    seen: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for caller in CALLERS:
        data = await gql.ok(CUSTOMERS, headers=await factory.auth(world.user(caller)))
        seen[caller] = {
            customer["name"]: (
                holders(customer),
                {project["name"]: holders(project) for project in nodes(customer["projects"])},
            )
            for customer in nodes(data["customers"])
        }
        expected[caller] = {
            customer: (
                expected_holders(caller, customer),
                {
                    project: expected_holders(caller, project)
                    for project in VISIBLE_PROJECTS[caller]
                    if project.startswith(customer[0])
                },
            )
            for customer in VISIBLE_CUSTOMERS[caller]
        }
    assert seen == expected


async def test_projects_for_every_caller(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    seen: dict[str, Any] = {}
    for caller in CALLERS:
        data = await gql.ok(PROJECTS, headers=await factory.auth(world.user(caller)))
        seen[caller] = {
            project["name"]: (project["customer"]["name"], holders(project))
            for project in nodes(data["projects"])
        }
    assert seen == {
        caller: {
            project: (
                "Alpha" if project.startswith("A") else "Beta",
                expected_holders(caller, project),
            )
            for project in VISIBLE_PROJECTS[caller]
        }
        for caller in CALLERS
    }


async def test_a_users_customers_and_projects_are_their_own_current_roles(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    seen: dict[str, Any] = {}
    for caller in CALLERS:
        me = (await gql.ok(ME, headers=await factory.auth(world.user(caller))))["me"]
        seen[caller] = (
            [customer["name"] for customer in nodes(me["customers"])],
            [project["name"] for project in nodes(me["projects"])],
        )
    assert seen == {
        caller: (
            [c for c in ("Alpha", "Beta") if caller in CURRENT_HOLDERS[c]],
            [p for p in ("A1", "A2", "B1") if caller in CURRENT_HOLDERS[p]],
        )
        for caller in CALLERS
    }


async def test_another_users_scopes_are_only_those_the_caller_sees(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """member_a1 sees owner_a, who owns Alpha: Alpha is visible to member_a1; owner_b's Beta
    is not visible to member_a1 (and owner_b is not either)."""
    query = """query ($uuid: UUID!) { user(uuid: $uuid) {
      customers { edges { node { name projects { edges { node { name } } } } } }
    } }"""
    headers = await factory.auth(world.member_a1)
    data = await gql.ok(query, {"uuid": world.owner_a.uuid.hex}, headers=headers)
    customers = data["user"]["customers"]["edges"]
    assert [
        (c["node"]["name"], [p["node"]["name"] for p in c["node"]["projects"]["edges"]])
        for c in customers
    ] == [("Alpha", ["A1"])]  # A2 is a sibling project: not visible


@pytest.mark.parametrize("caller", CALLERS)
async def test_lookup_by_uuid_finds_the_visible_scopes_and_nothing_else(
    gql: GraphQLClient, factory: Factory, world: World, caller: str
) -> None:
    query = """query ($uuid: UUID!) { customer(uuid: $uuid) { name } project(uuid: $uuid) {
      name } }"""
    headers = await factory.auth(world.user(caller))
    found = []
    for scope in (world.alpha, world.beta, world.a1, world.a2, world.b1):
        data = await gql.ok(query, {"uuid": scope.uuid.hex}, headers=headers)
        found += [value["name"] for value in data.values() if value is not None]
    assert sorted(found) == sorted(VISIBLE_CUSTOMERS[caller] + VISIBLE_PROJECTS[caller])


@pytest.mark.parametrize(
    "query",
    [
        "{ customers { totalCount } }",
        "{ projects { totalCount } }",
        "{ roles { name } }",
        '{ customer(uuid: "00000000000000000000000000000000") { name } }',
    ],
)
async def test_anonymous_callers_are_refused(gql: GraphQLClient, world: World, query: str) -> None:
    response = await gql(query)
    assert response.codes == ["UNAUTHENTICATED"]
    assert not any((response.data or {}).values())


async def test_roles_lists_every_role(gql: GraphQLClient, factory: Factory, world: World) -> None:
    data = await gql.ok("{ roles { name scopeType } }", headers=await factory.auth(world.loner))
    names = [role["name"] for role in data["roles"]]
    assert names == sorted(names)
    assert {"CUSTOMER.OWNER", "PROJECT.MEMBER"} <= set(names)


async def test_an_expired_role_stops_counting_without_a_write(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """loner gets a project role that expires in a moment: while current, loner sees A2 and
    Alpha and shows in A2's permissions; once its time has passed, with nothing written in
    between, loner sees nothing and is gone from A2's permissions."""
    expires = utcnow() + timedelta(seconds=2)
    await factory.grant(world.loner, "PROJECT.MEMBER", world.a2, expiration_time=expires)
    query = """{ customers { edges { node { name } } }
      projects { edges { node { name permissions { edges { node { user { username } } } } } } }
      me { projects { totalCount } } }"""
    loner = await factory.auth(world.loner)
    owner = await factory.auth(world.owner_a)

    async def a2_holders() -> list[str]:
        data = await gql.ok(
            """query ($uuid: UUID!) { project(uuid: $uuid) { permissions { edges { node {
              user { username } } } } } }""",
            {"uuid": world.a2.uuid.hex},
            headers=owner,
        )
        edges = data["project"]["permissions"]["edges"]
        return [edge["node"]["user"]["username"] for edge in edges]

    before = await gql.ok(query, headers=loner)
    assert [edge["node"]["name"] for edge in before["customers"]["edges"]] == ["Alpha"]
    assert [edge["node"]["name"] for edge in before["projects"]["edges"]] == ["A2"]
    assert before["me"]["projects"]["totalCount"] == 1
    assert "loner" in await a2_holders()
    await asyncio.sleep((expires - utcnow()).total_seconds() + 0.1)
    after = await gql.ok(query, headers=loner)
    assert after["customers"]["edges"] == []
    assert after["projects"]["edges"] == []
    assert after["me"]["projects"]["totalCount"] == 0
    assert "loner" not in await a2_holders()


async def test_an_expired_grant_still_marked_active_counts_nowhere(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """The row of a grant whose time has passed stays active until something writes it; it
    counts nowhere meanwhile, while a grant still ahead of its time counts."""
    past, ahead = utcnow() - timedelta(seconds=1), utcnow() + timedelta(days=1)
    await factory.grant(world.loner, "CUSTOMER.OWNER", world.beta, expiration_time=past)
    await factory.grant(world.former_a1, "CUSTOMER.OWNER", world.beta, expiration_time=ahead)
    query = """{ customers { edges { node { name permissions { edges { node {
      user { username } } } } } } } }"""
    seen: dict[str, Any] = {}
    for name in ("loner", "former_a1", "owner_b"):
        data = await gql.ok(query, headers=await factory.auth(world.user(name)))
        seen[name] = {
            edge["node"]["name"]: [
                permission["node"]["user"]["username"]
                for permission in edge["node"]["permissions"]["edges"]
            ]
            for edge in data["customers"]["edges"]
        }
    assert seen == {
        "loner": {},
        "former_a1": {"Beta": ["owner_b", "former_a1"]},
        "owner_b": {"Beta": ["owner_b", "former_a1"]},
    }


async def test_a_scope_reached_through_a_visible_users_permissions_nests_only_what_you_see(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    """owner_a (visible to member_a1) also owns Beta, which member_a1 cannot see: the
    permission names Beta, but Beta's projects and permissions show member_a1 nothing new, and
    Beta stays null by uuid."""
    await factory.grant(world.owner_a, "CUSTOMER.OWNER", world.beta)
    query = """query ($owner: UUID!, $beta: UUID!) {
      user(uuid: $owner) { permissions { scope { ... on Customer { name
        projects { totalCount } permissions { edges { node { user { username } } } } } } } }
      customer(uuid: $beta) { name }
    }"""
    variables = {"owner": world.owner_a.uuid.hex, "beta": world.beta.uuid.hex}
    data = await gql.ok(query, variables, headers=await factory.auth(world.member_a1))
    scopes = {p["scope"]["name"]: p["scope"] for p in data["user"]["permissions"]}
    assert scopes["Beta"]["projects"]["totalCount"] == 0
    beta_holders = scopes["Beta"]["permissions"]["edges"]
    assert [edge["node"]["user"]["username"] for edge in beta_holders] == ["owner_a"]
    assert scopes["Alpha"]["projects"]["totalCount"] == 1  # A1 only
    assert data["customer"] is None
