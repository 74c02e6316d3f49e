"""Waldur's UserPermissionApiListTest: who sees whom in the list.

The whole visibility matrix of docs/visibility.md#permission-matrix is tested against the core in
tests/accounts/test_visibility.py; these four are the Waldur scenarios, through the REST shim.
"""

from __future__ import annotations

from typing import Any

from gql_users.db.models import User
from tests.conftest import Factory
from tests.rest.scenario_helpers import json_of

LIST = "/api/users/"


async def listed_usernames(client: Any, factory: Factory, caller: User) -> list[str]:
    response = await client.get(LIST, headers=await factory.auth(caller))
    assert response.status == 200
    return [user["username"] for user in await json_of(response)]


async def test_staff_can_view_all_users(client: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    await factory.user("alice")
    await factory.user("bob", is_active=False)
    assert await listed_usernames(client, factory, staff) == ["alice", "bob", "staff"]


async def test_owner_can_view_other_users_in_organization(client: Any, factory: Factory) -> None:
    owner = await factory.user("owner")
    support = await factory.user("support_role")
    await factory.user("stranger")
    customer = await factory.customer()
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    await factory.grant(support, "CUSTOMER.SUPPORT", customer)
    assert await listed_usernames(client, factory, owner) == ["owner", "support_role"]


async def test_owner_can_view_other_users_in_project(client: Any, factory: Factory) -> None:
    manager = await factory.user("manager")
    member = await factory.user("member")
    await factory.user("stranger")
    project = await factory.project(await factory.customer())
    await factory.grant(manager, "PROJECT.MANAGER", project)
    await factory.grant(member, "PROJECT.MEMBER", project)
    assert await listed_usernames(client, factory, member) == ["manager", "member"]


async def test_owner_cannot_view_other_users(client: Any, factory: Factory) -> None:
    loner = await factory.user("loner")
    await factory.user("stranger")
    assert await listed_usernames(client, factory, loner) == ["loner"]
