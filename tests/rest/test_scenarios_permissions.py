"""Waldur's UserPermissionApiTest (scenarios 1-10 and 14-27) through the REST shim: what the
REST wire shows (status, headers, keys present or absent). Who sees whom (UserPermissionApiList
Test, 28-31) and the own token on a page of one are tested at the core (tests/accounts) and
through both APIs (tests/parity); scenarios 2, 3, 4 and 6 are there.

Scenarios 11-13 (``ip_address`` on ``me``, from a later Waldur) are in
test_waldur_differences.py, since this service believes ``X-Forwarded-For`` only from
trusted proxies.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Factory
from tests.rest.scenario_helpers import (
    NOT_AUTHENTICATED,
    NOT_FOUND,
    PERMISSION_DENIED,
    PermissionWorld,
    detail_path,
    json_of,
    permission_world,
    reloaded,
    user_url,
)

LIST = "/api/users/"


@pytest.fixture
async def world(factory: Factory) -> PermissionWorld:
    return await permission_world(factory)


# --- listing (1-4, 6, 10) ----------------------------------------------------------------------


async def test_anonymous_user_cannot_list_accounts(client: Any, world: PermissionWorld) -> None:
    response = await client.get(LIST)
    assert response.status == 401
    assert await json_of(response) == NOT_AUTHENTICATED
    assert response.headers["WWW-Authenticate"] == "Token"


async def test_staff_cannot_see_token_in_the_list(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.get(LIST, headers=await factory.auth(world.staff))
    users = await json_of(response)
    assert {user["username"] for user in users} == {"staff", "owner", "not_owner", "other"}
    for user in users:
        assert "token" not in user and "token_lifetime" not in user
        assert "token_expires_at" in user  # never hidden (docs/fields.md#tokens-in-user-bodies)


async def test_user_can_see_his_token_via_current_filter(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.get("/api/users/me/", headers=await factory.auth(world.owner))
    assert response.status == 200
    body = await json_of(response)
    assert body["uuid"] == world.owner.uuid.hex
    assert body["token"] == await factory.token(world.owner)


# --- retrieve (5, 7-9) -------------------------------------------------------------------------


async def test_staff_cannot_see_token_and_its_lifetime_of_the_other_user(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.get(detail_path(world.owner), headers=await factory.auth(world.staff))
    assert response.status == 200
    body = await json_of(response)
    assert "token" not in body and "token_lifetime" not in body
    assert body["url"] == user_url(world.owner)


async def test_owner_can_see_his_token_and_its_lifetime(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.get(detail_path(world.owner), headers=await factory.auth(world.owner))
    body = await json_of(response)
    assert body["token"] == await factory.token(world.owner)
    assert body["token_lifetime"] == 3600


async def test_owner_cannot_see_token_and_its_lifetime_of_the_not_owner(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    path = detail_path(world.not_owner)
    response = await client.get(path, headers=await factory.auth(world.owner))
    assert response.status == 200
    body = await json_of(response)
    assert body["username"] == "not_owner"
    assert "token" not in body and "token_lifetime" not in body


async def test_owner_cannot_see_other_user(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.get(detail_path(world.other), headers=await factory.auth(world.owner))
    assert response.status == 404
    assert await json_of(response) == NOT_FOUND


# --- create (14-17) ----------------------------------------------------------------------------

NEW_USER = {
    "username": "new_user",
    "email": "new_user@example.com",
    "full_name": "New User",
    "native_name": "Uus Kasutaja",
    "is_staff": False,
    "is_active": True,
}


async def test_anonymous_user_cannot_create_account(client: Any, world: PermissionWorld) -> None:
    response = await client.post(LIST, json=NEW_USER)
    assert response.status == 401


async def test_authorized_user_cannot_create_account(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.post(LIST, json=NEW_USER, headers=await factory.auth(world.owner))
    assert response.status == 403
    assert await json_of(response) == PERMISSION_DENIED


async def test_staff_user_can_create_account(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.post(LIST, json=NEW_USER, headers=await factory.auth(world.staff))
    assert response.status == 201
    body = await json_of(response)
    assert body["username"] == "new_user" and body["native_name"] == "Uus Kasutaja"
    # read-only (docs/fields.md#computed-fields): names come from first/last name
    assert body["full_name"] == ""
    listed = await client.get(
        LIST, params={"username": "new_user"}, headers=await factory.auth(world.staff)
    )
    assert [user["uuid"] for user in await json_of(listed)] == [body["uuid"]]


async def test_staff_user_cannot_set_civil_number_upon_account_creation(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    payload = NEW_USER | {"civil_number": "39001010000"}
    response = await client.post(LIST, json=payload, headers=await factory.auth(world.staff))
    assert response.status == 201
    assert (await json_of(response))["civil_number"] is None


# --- update (18-25) ----------------------------------------------------------------------------


async def test_user_can_change_his_account_email(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    """Waldur's name; the email is silently ignored (read-only on update), the phone changes."""
    payload = {"email": "changed@example.com", "phone_number": "+372 5555 5555"}
    path = detail_path(world.owner)
    response = await client.put(path, json=payload, headers=await factory.auth(world.owner))
    assert response.status == 200
    owner = await reloaded(factory, world.owner)
    assert owner is not None
    assert owner.phone_number == "+372 5555 5555"
    assert owner.email == "owner@example.com"


async def test_user_cannot_change_other_account_email(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    payload = {"email": "changed@example.com", "phone_number": "+372 5555 5555"}
    path = detail_path(world.not_owner)
    response = await client.put(path, json=payload, headers=await factory.auth(world.owner))
    assert response.status == 403
    not_owner = await reloaded(factory, world.not_owner)
    assert not_owner is not None and not_owner.email == "not_owner@example.com"
    assert not_owner.phone_number == ""


async def test_user_cannot_make_himself_support(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    path = detail_path(world.owner)
    response = await client.patch(
        path, json={"is_support": True}, headers=await factory.auth(world.owner)
    )
    assert response.status == 200
    assert "is_support" not in await json_of(response)  # not even shown to a normal user
    owner = await reloaded(factory, world.owner)
    assert owner is not None and owner.is_support is False


async def test_support_cannot_make_himself_staff(client: Any, factory: Factory) -> None:
    support = await factory.user("support", is_support=True)
    response = await client.patch(
        detail_path(support), json={"is_staff": True}, headers=await factory.auth(support)
    )
    assert response.status == 200
    assert (await json_of(response))["is_staff"] is False  # support sees it, read-only
    stored = await reloaded(factory, support)
    assert stored is not None and stored.is_staff is False


async def test_staff_user_cannot_change_civil_number(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    path = detail_path(world.owner)
    response = await client.put(
        path, json={"civil_number": "39001010000"}, headers=await factory.auth(world.staff)
    )
    assert response.status == 200
    owner = await reloaded(factory, world.owner)
    assert owner is not None and owner.civil_number is None


async def test_user_can_change_his_token_lifetime(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    path = detail_path(world.owner)
    response = await client.put(
        path, json={"token_lifetime": 100}, headers=await factory.auth(world.owner)
    )
    assert response.status == 200
    assert (await json_of(response))["token_lifetime"] == 100
    owner = await reloaded(factory, world.owner)
    assert owner is not None and owner.token_lifetime == 100


async def test_user_cannot_change_other_token_lifetime(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    path = detail_path(world.not_owner)
    response = await client.put(
        path, json={"token_lifetime": 100}, headers=await factory.auth(world.owner)
    )
    assert response.status == 403
    not_owner = await reloaded(factory, world.not_owner)
    assert not_owner is not None and not_owner.token_lifetime == 3600


async def test_staff_cannot_change_another_users_token_lifetime_silently_ignored(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    """docs/writes.md#update: the field is absent for staff editing someone else, so the value is
    ignored."""
    path = detail_path(world.owner)
    response = await client.patch(
        path, json={"token_lifetime": 100}, headers=await factory.auth(world.staff)
    )
    assert response.status == 200
    owner = await reloaded(factory, world.owner)
    assert owner is not None and owner.token_lifetime == 3600


async def test_staff_user_can_change_any_accounts_fields(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    payload = {
        "username": "ignored_on_update",
        "email": "ignored@example.com",
        "native_name": "Native",
        "job_title": "Boss",
        "phone_number": "+1 (555) 123-4567",
        "organization": "Org",
        "description": "Described",
        "is_staff": True,
        "is_active": True,
        "is_support": True,
        "token_lifetime": 7200,
        "notifications_enabled": False,
        "preferred_language": "et",
        "first_name": "Stella",
        "last_name": "Staff",
        "slug": "stella",
    }
    path = detail_path(world.staff)
    response = await client.put(path, json=payload, headers=await factory.auth(world.staff))
    assert response.status == 200
    body = await json_of(response)
    for name in payload.keys() - {"username", "email"}:
        assert body[name] == payload[name], name
    assert body["username"] == "staff" and body["email"] == "staff@example.com"
    assert body["full_name"] == "Stella Staff"


# --- delete (26-27) ----------------------------------------------------------------------------


async def test_staff_user_can_delete_any_account(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    """Every one of the four, the staff user itself last (its own token dies with it)."""
    headers = await factory.auth(world.staff)
    for user in [world.owner, world.not_owner, world.other, world.staff]:
        response = await client.delete(detail_path(user), headers=headers)
        assert response.status == 204, user.username
        assert await response.read() == b""
        assert await reloaded(factory, user) is None


async def test_user_cannot_delete_his_account(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    response = await client.delete(
        detail_path(world.owner), headers=await factory.auth(world.owner)
    )
    assert response.status == 403
    assert await json_of(response) == PERMISSION_DENIED
    assert await reloaded(factory, world.owner) is not None


async def test_user_cannot_delete_other_account(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    headers = await factory.auth(world.owner)
    response = await client.delete(detail_path(world.not_owner), headers=headers)
    assert response.status == 403
    assert await reloaded(factory, world.not_owner) is not None
    # refused before the lookup (docs/writes.md#delete): an unknown uuid is 403 too, not 404
    response = await client.delete("/api/users/" + "0" * 32 + "/", headers=headers)
    assert response.status == 403


async def test_support_cannot_delete_accounts(
    client: Any, factory: Factory, world: PermissionWorld
) -> None:
    support = await factory.user("support", is_support=True)
    response = await client.delete(detail_path(world.other), headers=await factory.auth(support))
    assert response.status == 403
