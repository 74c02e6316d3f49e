"""Waldur's UserPermissionsFieldTest (80-82): the ``permissions`` array of
docs/fields.md#permissions on the wire."""

from __future__ import annotations

from typing import Any

from tests.conftest import Factory
from tests.rest.scenario_helpers import detail_path, json_of

CUSTOMER_ROLE_KEYS = [
    "user_uuid",
    "user_name",
    "user_slug",
    "created",
    "expiration_time",
    "role_name",
    "role_description",
    "role_uuid",
    "scope_type",
    "scope_uuid",
    "scope_name",
]


async def test_user_detail_includes_permissions_field(client: Any, factory: Factory) -> None:
    owner = await factory.user("owner", first_name="Olga", last_name="Owner")
    customer = await factory.customer("Acme")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    body = await json_of(await client.get(detail_path(owner), headers=await factory.auth(owner)))
    (permission,) = body["permissions"]
    assert permission["role_name"] == "CUSTOMER.OWNER"
    assert permission["scope_name"] == "Acme"
    # no creator and a customer scope: both optional groups are left out
    # (docs/fields.md#permissions)
    assert list(permission) == CUSTOMER_ROLE_KEYS
    assert permission["scope_type"] == "customer"
    assert permission["scope_uuid"] == customer.uuid.hex
    assert permission["user_uuid"] == owner.uuid.hex and permission["user_name"] == "Olga Owner"


async def test_user_with_multiple_roles_returns_all_permissions(
    client: Any, factory: Factory
) -> None:
    granter = await factory.user("granter", first_name="Grace", last_name="Granter")
    user = await factory.user("busy")
    customer = await factory.customer("Acme")
    project = await factory.project(customer, "Rocket")
    await factory.grant(user, "CUSTOMER.SUPPORT", customer)
    await factory.grant(user, "PROJECT.MANAGER", project, created_by=granter)
    await factory.grant(user, "PROJECT.MEMBER", project, is_active=False)  # inactive: not shown
    body = await json_of(await client.get(detail_path(user), headers=await factory.auth(user)))
    support, manager = body["permissions"]
    assert (support["role_name"], manager["role_name"]) == ("CUSTOMER.SUPPORT", "PROJECT.MANAGER")
    assert manager["scope_type"] == "project" and manager["scope_name"] == "Rocket"
    assert manager["customer_uuid"] == customer.uuid.hex and manager["customer_name"] == "Acme"
    assert manager["created_by_username"] == "granter"
    assert manager["created_by_full_name"] == "Grace Granter"
    assert "customer_uuid" not in support


async def test_user_list_includes_permissions_for_each_user(client: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    one = await factory.user("one")
    two = await factory.user("two")
    customer = await factory.customer("Acme")
    project = await factory.project(customer, "Rocket")
    await factory.grant(one, "CUSTOMER.OWNER", customer)
    await factory.grant(two, "CUSTOMER.SUPPORT", customer)
    await factory.grant(two, "PROJECT.MANAGER", project)
    users = await json_of(await client.get("/api/users/", headers=await factory.auth(staff)))
    roles = {user["username"]: [p["role_name"] for p in user["permissions"]] for user in users}
    assert roles == {
        "one": ["CUSTOMER.OWNER"],
        "staff": [],
        "two": ["CUSTOMER.SUPPORT", "PROJECT.MANAGER"],
    }
    for user in users:
        assert all(p["user_uuid"] == user["uuid"] for p in user["permissions"])
