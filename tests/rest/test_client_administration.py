"""The generated client administers customers, projects and their teams on a live server
(docs/rest.md#customers-and-projects, docs/writes.md#roles): staff creates a customer and a
project, adds users with ``customers_add_user`` and ``projects_add_user``, and everyone lists
them back; the new owner then manages the project's team through the client too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from waldur_api_client.api.customers import (
    customers_add_user,
    customers_create,
    customers_list,
    customers_list_users_count,
    customers_list_users_list,
    customers_retrieve,
)
from waldur_api_client.api.projects import (
    projects_add_user,
    projects_create,
    projects_delete_user,
    projects_list,
    projects_list_users_list,
    projects_update_user,
)
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    CustomerRequest,
    ProjectRequest,
    UserRoleCreateRequest,
    UserRoleDeleteRequest,
    UserRoleUpdateRequest,
)

from gql_users.db.models import utcnow
from tests.conftest import Factory
from tests.rest.client_support import error_of


async def test_the_client_creates_a_customer_and_a_project_adds_users_and_lists_them(
    api: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True, first_name="Sam", last_name="Staff")
    owner = await factory.person("owner_x")
    member = await factory.person("member_x")
    as_staff = api(await factory.token(staff))

    customer = await customers_create.asyncio(
        client=as_staff, body=CustomerRequest(name="Acme", native_name="ignored")
    )
    assert customer.name == "Acme"
    project = await projects_create.asyncio(
        client=as_staff, body=ProjectRequest(name="Rocket", customer=customer.url)
    )
    assert (project.customer_uuid, project.customer_name) == (customer.uuid, "Acme")

    granted = await customers_add_user.asyncio(
        uuid=customer.uuid,
        client=as_staff,
        body=UserRoleCreateRequest(role="CUSTOMER.OWNER", user=owner.uuid),
    )
    assert granted.expiration_time is None
    until = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    granted = await projects_add_user.asyncio(
        uuid=project.uuid,
        client=as_staff,
        body=UserRoleCreateRequest(role="PROJECT.MEMBER", user=member.uuid, expiration_time=until),
    )
    assert granted.expiration_time == until

    customer_team = await customers_list_users_list.asyncio(uuid=customer.uuid, client=as_staff)
    assert [(row.user_username, row.role_name) for row in customer_team] == [
        ("owner_x", "CUSTOMER.OWNER")
    ]
    assert customer_team[0].created_by_full_name == "Sam Staff"
    assert await customers_list_users_count.asyncio(uuid=customer.uuid, client=as_staff) == 1
    project_team = await projects_list_users_list.asyncio(uuid=project.uuid, client=as_staff)
    assert [(row.user_uuid, row.expiration_time) for row in project_team] == [(member.uuid, until)]

    # the new owner sees the customer and its project, and manages the project's team
    as_owner = api(await factory.token(owner))
    assert [c.uuid for c in await customers_list.asyncio(client=as_owner)] == [customer.uuid]
    assert [p.name for p in await projects_list.asyncio(client=as_owner)] == ["Rocket"]
    updated = await projects_update_user.asyncio(
        uuid=project.uuid,
        client=as_owner,
        body=UserRoleUpdateRequest(role="PROJECT.MEMBER", user=member.uuid, expiration_time=None),
    )
    assert updated.expiration_time is None
    revoked = await projects_delete_user.asyncio_detailed(
        uuid=project.uuid,
        client=as_owner,
        body=UserRoleDeleteRequest(role="PROJECT.MEMBER", user=member.uuid),
    )
    assert revoked.status_code == 200
    assert await projects_list_users_list.asyncio(uuid=project.uuid, client=as_owner) == []

    # the member, whose role is gone, no longer sees the customer
    as_member = api(await factory.token(member))
    assert await customers_list.asyncio(client=as_member) == []
    try:
        await customers_retrieve.asyncio(uuid=customer.uuid, client=as_member)
    except UnexpectedStatus as raised:
        assert raised.status_code == 404
        assert error_of(raised) == {"detail": "No Customer matches the given query."}
    else:
        raise AssertionError("a customer the caller may not see was retrieved")
