"""The administration mutations over GraphQL: customers, projects and roles, with the core's
rules (docs/writes.md#customers-and-projects, docs/writes.md#roles) in GraphQL's form: input
problems as ``userErrors``, refusals as ``FORBIDDEN``/``NOT_FOUND``/``CONFLICT`` errors, and
nothing changed by a refused write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.organisations import CUSTOMER_HAS_PROJECTS
from gql_users.accounts.role_grants import ALREADY_GRANTED, EXPIRATION_IN_PAST, WRONG_SCOPE
from gql_users.accounts.wire import render_datetime
from gql_users.db.models import Customer, Project, utcnow
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient
from tests.world import World

ERRORS = "userErrors { field message code }"
CREATE_CUSTOMER = f"""mutation ($input: CustomerInput!) {{
  createCustomer(input: $input) {{ customer {{ uuid name abbreviation description }} {ERRORS} }}
}}"""
UPDATE_CUSTOMER = f"""mutation ($uuid: UUID!, $input: CustomerInput!) {{
  updateCustomer(uuid: $uuid, input: $input) {{ customer {{ name description }} {ERRORS} }}
}}"""
DELETE_CUSTOMER = f"""mutation ($uuid: UUID!) {{
  deleteCustomer(uuid: $uuid) {{ deletedUuid {ERRORS} }}
}}"""
CREATE_PROJECT = f"""mutation ($input: CreateProjectInput!) {{
  createProject(input: $input) {{ project {{ uuid name customer {{ name }} }} {ERRORS} }}
}}"""
UPDATE_PROJECT = f"""mutation ($uuid: UUID!, $input: ProjectInput!) {{
  updateProject(uuid: $uuid, input: $input) {{ project {{ name description }} {ERRORS} }}
}}"""
DELETE_PROJECT = f"""mutation ($uuid: UUID!) {{
  deleteProject(uuid: $uuid) {{ deletedUuid {ERRORS} }}
}}"""
PERMISSION = "permission { roleName scopeName expirationTime user { username } createdByUsername }"
GRANT = f"""mutation ($input: RoleGrantInput!) {{
  grantRole(input: $input) {{ {PERMISSION} {ERRORS} }}
}}"""
UPDATE_EXPIRATION = f"""mutation ($input: RoleGrantInput!) {{
  updateRoleExpiration(input: $input) {{ {PERMISSION} {ERRORS} }}
}}"""
REVOKE = f"""mutation ($input: RoleGrantInput!) {{
  revokeRole(input: $input) {{ revoked {ERRORS} }}
}}"""
SEES_PROJECTS = "{ projects { edges { node { name } } } }"


async def count(session: AsyncSession, model: type[Customer] | type[Project]) -> int:
    await session.commit()  # end the test session's snapshot: count what the app committed
    return int(await session.scalar(select(func.count(model.id))) or 0)


def grant_input(scope: Customer | Project, role: str, user: Any, **more: Any) -> dict[str, Any]:
    return {
        "input": {
            "scopeType": "CUSTOMER" if isinstance(scope, Customer) else "PROJECT",
            "scopeUuid": scope.uuid.hex,
            "role": role,
            "user": user.uuid.hex,
            **more,
        }
    }


async def test_staff_create_update_and_delete_a_customer(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    staff = await factory.auth(world.staff)
    new = {"name": "Gamma", "abbreviation": "GMM", "description": "the third"}
    created = (await gql.ok(CREATE_CUSTOMER, {"input": new}, headers=staff))["createCustomer"]
    assert created["userErrors"] == []
    customer = created["customer"]
    assert {key: customer[key] for key in new} == new
    updated = await gql.ok(
        UPDATE_CUSTOMER,
        {"uuid": customer["uuid"], "input": {"description": "changed"}},
        headers=staff,
    )
    assert updated["updateCustomer"]["customer"] == {"name": "Gamma", "description": "changed"}
    deleted = await gql.ok(DELETE_CUSTOMER, {"uuid": customer["uuid"]}, headers=staff)
    assert deleted["deleteCustomer"]["deletedUuid"] == customer["uuid"]
    found = await gql.ok(
        "query ($uuid: UUID!) { customer(uuid: $uuid) { name } }",
        {"uuid": customer["uuid"]},
        headers=staff,
    )
    assert found["customer"] is None


async def test_customer_writes_are_refused_to_others_and_change_nothing(
    gql: GraphQLClient, factory: Factory, world: World, session: AsyncSession
) -> None:
    before = await count(session, Customer)
    new = {"input": {"name": "Gamma"}}
    assert (await gql(CREATE_CUSTOMER, new)).codes == ["UNAUTHENTICATED"]
    owner = await factory.auth(world.owner_a)
    assert (await gql(CREATE_CUSTOMER, new, headers=owner)).codes == ["FORBIDDEN"]
    # An owner sees their customer but may not change it; a stranger does not see it at all.
    alpha = {"uuid": world.alpha.uuid.hex, "input": {"name": "Mine"}}
    assert (await gql(UPDATE_CUSTOMER, alpha, headers=owner)).codes == ["FORBIDDEN"]
    loner = await factory.auth(world.loner)
    assert (await gql(UPDATE_CUSTOMER, alpha, headers=loner)).codes == ["NOT_FOUND"]
    assert (await gql(DELETE_CUSTOMER, {"uuid": world.beta.uuid.hex}, headers=owner)).codes == [
        "NOT_FOUND"
    ]
    staff = await factory.auth(world.staff)
    has_projects = await gql(DELETE_CUSTOMER, {"uuid": world.alpha.uuid.hex}, headers=staff)
    assert has_projects.codes == ["CONFLICT"]
    assert has_projects.errors[0]["message"] == CUSTOMER_HAS_PROJECTS
    assert await count(session, Customer) == before


async def test_bad_customer_input_comes_back_as_user_errors(
    gql: GraphQLClient, factory: Factory, world: World, session: AsyncSession
) -> None:
    before = await count(session, Customer)
    staff = await factory.auth(world.staff)
    for bad in (
        {},
        {"name": None},
        {"name": "x" * 1_000_000},
        {"name": "ok", "abbreviation": "y" * 13},
    ):
        payload = (await gql.ok(CREATE_CUSTOMER, {"input": bad}, headers=staff))["createCustomer"]
        assert payload["customer"] is None
        assert payload["userErrors"], bad
        assert {error["code"] for error in payload["userErrors"]} == {"VALIDATION_FAILED"}
        assert {error["field"] for error in payload["userErrors"]} <= {"name", "abbreviation"}
    assert await count(session, Customer) == before


async def test_a_customer_owner_manages_the_customers_projects(
    gql: GraphQLClient, factory: Factory, world: World, session: AsyncSession
) -> None:
    owner = await factory.auth(world.owner_a)
    new = {"input": {"customer": world.alpha.uuid.hex, "name": "A3"}}
    project = (await gql.ok(CREATE_PROJECT, new, headers=owner))["createProject"]["project"]
    assert project["name"] == "A3" and project["customer"] == {"name": "Alpha"}
    changed = {"uuid": project["uuid"], "input": {"description": "third"}}
    updated = (await gql.ok(UPDATE_PROJECT, changed, headers=owner))["updateProject"]
    assert updated["project"] == {"name": "A3", "description": "third"}
    seen = await gql.ok(SEES_PROJECTS, headers=owner)
    assert [edge["node"]["name"] for edge in seen["projects"]["edges"]] == ["A1", "A2", "A3"]
    deleted = await gql.ok(DELETE_PROJECT, {"uuid": project["uuid"]}, headers=owner)
    assert deleted["deleteProject"]["deletedUuid"] == project["uuid"]

    before = await count(session, Project)
    member = await factory.auth(world.member_a1)
    assert (await gql(CREATE_PROJECT, new, headers=member)).codes == ["FORBIDDEN"]
    a1 = {"uuid": world.a1.uuid.hex}
    assert (await gql(DELETE_PROJECT, a1, headers=member)).codes == ["FORBIDDEN"]
    assert (await gql(DELETE_PROJECT, a1, headers=await factory.auth(world.owner_b))).codes == [
        "NOT_FOUND"
    ]
    # Another customer's owner cannot see Alpha: the customer field says so.
    other = await gql.ok(CREATE_PROJECT, new, headers=await factory.auth(world.owner_b))
    assert [error["field"] for error in other["createProject"]["userErrors"]] == ["customer"]
    assert await count(session, Project) == before


async def test_grant_update_and_revoke_a_role(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    owner = await factory.auth(world.owner_a)
    loner = await factory.auth(world.loner)
    assert (await gql.ok(SEES_PROJECTS, headers=loner))["projects"]["edges"] == []
    granted = await gql.ok(
        GRANT, grant_input(world.a1, "PROJECT.MEMBER", world.loner), headers=owner
    )
    assert granted["grantRole"]["userErrors"] == []
    assert granted["grantRole"]["permission"] == {
        "roleName": "PROJECT.MEMBER",
        "scopeName": "A1",
        "expirationTime": None,
        "user": {"username": "loner"},
        "createdByUsername": "owner_a",
    }
    seen = await gql.ok(SEES_PROJECTS, headers=loner)
    assert [edge["node"]["name"] for edge in seen["projects"]["edges"]] == ["A1"]

    again = await gql.ok(GRANT, grant_input(world.a1, "PROJECT.MEMBER", world.loner), headers=owner)
    assert [error["message"] for error in again["grantRole"]["userErrors"]] == [ALREADY_GRANTED]

    later = utcnow().replace(microsecond=0) + timedelta(days=30)
    expiring = grant_input(
        world.a1, "PROJECT.MEMBER", world.loner, expirationTime=render_datetime(later)
    )
    updated = await gql.ok(UPDATE_EXPIRATION, expiring, headers=owner)
    assert updated["updateRoleExpiration"]["permission"]["expirationTime"] == render_datetime(later)

    revoke = grant_input(world.a1, "PROJECT.MEMBER", world.loner)
    assert (await gql.ok(REVOKE, revoke, headers=owner))["revokeRole"]["revoked"] is True
    assert (await gql.ok(SEES_PROJECTS, headers=loner))["projects"]["edges"] == []
    assert (await gql.ok(REVOKE, revoke, headers=owner))["revokeRole"]["revoked"] is False


async def test_who_may_grant_what(gql: GraphQLClient, factory: Factory, world: World) -> None:
    """A project manager grants the member role of their project and nothing else; a member
    grants nothing; a stranger does not even see the project."""
    await factory.grant(world.admin_a2, "PROJECT.MANAGER", world.a2)
    manager = await factory.auth(world.admin_a2)
    member = grant_input(world.a2, "PROJECT.MEMBER", world.loner)
    assert (await gql.ok(GRANT, member, headers=manager))["grantRole"]["userErrors"] == []
    admin = grant_input(world.a2, "PROJECT.ADMIN", world.loner)
    assert (await gql(GRANT, admin, headers=manager)).codes == ["FORBIDDEN"]
    other = await factory.auth(world.unagreed)  # a member of A2
    assert (await gql(GRANT, admin, headers=other)).codes == ["FORBIDDEN"]
    stranger = await factory.auth(world.member_b1)
    assert (await gql(GRANT, admin, headers=stranger)).codes == ["NOT_FOUND"]
    assert (await gql(GRANT, admin)).codes == ["UNAUTHENTICATED"]


async def test_bad_grants_come_back_as_user_errors(
    gql: GraphQLClient, factory: Factory, world: World
) -> None:
    staff = await factory.auth(world.staff)
    cases = [
        (grant_input(world.a1, "CUSTOMER.OWNER", world.loner), None, WRONG_SCOPE),
        (
            grant_input(
                world.a1,
                "PROJECT.MEMBER",
                world.loner,
                expirationTime=render_datetime(utcnow() - timedelta(days=1)),
            ),
            "expirationTime",
            EXPIRATION_IN_PAST,
        ),
    ]
    for variables, field, message in cases:
        payload = (await gql.ok(GRANT, variables, headers=staff))["grantRole"]
        assert payload["permission"] is None
        assert [(e["field"], e["message"]) for e in payload["userErrors"]] == [
            (field or "nonFieldErrors", message)
        ]
    missing = {"input": {"scopeType": "PROJECT", "scopeUuid": world.a1.uuid.hex}}
    payload = (await gql.ok(GRANT, missing, headers=staff))["grantRole"]
    assert sorted(error["field"] for error in payload["userErrors"]) == ["role", "user"]
    loner = await factory.auth(world.loner)
    assert (await gql.ok(SEES_PROJECTS, headers=loner))["projects"]["edges"] == []
