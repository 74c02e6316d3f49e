"""Waldur's UserUpdateTest (46-57), UserFullnameTest (72), UserNotificationsEnabledTest (77-79)
and RestrictedSerializerTest (97) through the REST shim, plus ``?field=`` on writes: the REST wire
(PUT and PATCH, bodies, uploads, stored rows). The policy rule's cases (47, 48, 53, 54: staff
targets, users who agreed, deactivation) and the token lifetime minimum (51) are tested through
both APIs in tests/parity/test_writes.py.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from gql_users.db.models import User, utcnow
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.rest.scenario_helpers import (
    MUST_AGREE,
    PERMISSION_DENIED,
    client_with,
    detail_path,
    json_of,
    reloaded,
)


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built by hand so no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
async def newcomer(factory: Factory) -> User:
    """A user who never agreed to the policy."""
    return await factory.user("newcomer", agreement_date=None)


# --- the policy rule (46-50, 53-54) ------------------------------------------------------------


async def test_if_user_did_not_accept_policy_he_can_not_update_his_profile(
    client: Any, factory: Factory, newcomer: User
) -> None:
    response = await client.put(
        detail_path(newcomer),
        json={"phone_number": "+372 555"},
        headers=await factory.auth(newcomer),
    )
    assert response.status == 400
    assert await json_of(response) == MUST_AGREE
    stored = await reloaded(factory, newcomer)
    assert stored is not None and stored.phone_number == ""


async def test_if_user_accepts_policy_he_can_update_his_profile(
    client: Any, factory: Factory, newcomer: User
) -> None:
    payload = {"phone_number": "+372 555", "agree_with_policy": True}
    response = await client.put(
        detail_path(newcomer), json=payload, headers=await factory.auth(newcomer)
    )
    assert response.status == 200
    body = await json_of(response)
    assert body["phone_number"] == "+372 555"
    assert "agree_with_policy" not in body  # write-only
    stored = await reloaded(factory, newcomer)
    assert stored is not None and stored.phone_number == "+372 555"


async def test_if_user_accepts_policy_agreement_data_is_updated(
    client: Any, factory: Factory, newcomer: User
) -> None:
    before = utcnow()
    payload = {"phone_number": "+372 555", "agree_with_policy": True}
    response = await client.put(
        detail_path(newcomer), json=payload, headers=await factory.auth(newcomer)
    )
    assert response.status == 200
    stored = await reloaded(factory, newcomer)
    assert stored is not None and stored.agreement_date is not None
    assert before - timedelta(seconds=1) <= stored.agreement_date <= utcnow()
    assert (await json_of(response))["agreement_date"].endswith("Z")


async def test_staff_editing_a_user_who_never_agreed_needs_agree_with_policy(
    client: Any, factory: Factory, newcomer: User
) -> None:
    """docs/writes.md#the-policy-agreement: the staff caller's agreement stamps the *target's*
    agreement_date."""
    staff = await factory.user("staff", is_staff=True)
    headers = await factory.auth(staff)
    path = detail_path(newcomer)
    response = await client.patch(path, json={"job_title": "Clerk"}, headers=headers)
    assert response.status == 400 and await json_of(response) == MUST_AGREE
    response = await client.patch(
        path, json={"job_title": "Clerk", "agree_with_policy": True}, headers=headers
    )
    assert response.status == 200
    stored = await reloaded(factory, newcomer)
    assert stored is not None and stored.agreement_date is not None


# --- field validation and protected fields (51-52, 55) -----------------------------------------


async def test_user_can_not_update_profile_if_registration_method_is_protected(
    aiohttp_client: Any, settings: Settings, factory: Factory
) -> None:
    client = await client_with(
        aiohttp_client, settings, protect_user_details_for_registration_methods=["PROTECTED"]
    )
    user = await factory.user("protected", registration_method="PROTECTED", organization="Old")
    response = await client.patch(
        detail_path(user),
        json={"organization": "New", "preferred_language": "et"},
        headers=await factory.auth(user),
    )
    assert response.status == 200
    stored = await reloaded(factory, user)
    assert stored is not None and stored.organization == "Old"
    assert stored.preferred_language == "et"  # not a protected detail


async def test_user_can_update_only_allowed_fields(
    aiohttp_client: Any, settings: Settings, factory: Factory
) -> None:
    client = await client_with(
        aiohttp_client, settings, local_idp_protected_fields=["full_name", "first_name"]
    )
    user = await factory.user("idp", first_name="Kept", last_name="Old")
    response = await client.patch(
        detail_path(user),
        json={"full_name": "New Name", "first_name": "New", "last_name": "Changed"},
        headers=await factory.auth(user),
    )
    assert response.status == 200
    assert (await json_of(response))["full_name"] == "Kept Changed"


# --- images (56-57) ----------------------------------------------------------------------------


@pytest.mark.parametrize("caller_kind", ["user", "staff"])
async def test_user_can_upload_image(client: Any, factory: Factory, caller_kind: str) -> None:
    user = await factory.user("pictured")
    caller = user if caller_kind == "user" else await factory.user("staff", is_staff=True)
    form = aiohttp.FormData()
    form.add_field("image", tiny_png(), filename="me.png", content_type="image/png")
    response = await client.patch(detail_path(user), data=form, headers=await factory.auth(caller))
    assert response.status == 200, await response.text()
    image = (await json_of(response))["image"]
    # Every upload gets a name of its own: user/<uuid>-<16 hex digits>.png
    assert re.fullmatch(rf"http://testserver/media/user/{user.uuid.hex}-[0-9a-f]{{16}}\.png", image)
    served = await client.get(image.removeprefix("http://testserver"))
    assert served.status == 200 and await served.read() == tiny_png()


async def test_user_cannot_upload_image(client: Any, factory: Factory) -> None:
    support = await factory.user("support", is_support=True)
    user = await factory.user("pictured")
    form = aiohttp.FormData()
    form.add_field("image", tiny_png(), filename="me.png", content_type="image/png")
    response = await client.patch(detail_path(user), data=form, headers=await factory.auth(support))
    assert response.status == 403
    assert await json_of(response) == PERMISSION_DENIED
    stored = await reloaded(factory, user)
    assert stored is not None and stored.image is None


async def test_an_upload_that_is_not_an_image_is_400(client: Any, factory: Factory) -> None:
    user = await factory.user("pictured")
    form = aiohttp.FormData()
    form.add_field("image", b"not an image", filename="me.png", content_type="image/png")
    response = await client.patch(detail_path(user), data=form, headers=await factory.auth(user))
    assert response.status == 400
    assert list(await json_of(response)) == ["image"]


# --- UserFullnameTest (72) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_name", "last_name", "full_name"),
    [
        ("", "", ""),
        ("John", "", "John"),
        ("John", "Smith", "John Smith"),
        ("John", "A Smith", "John A Smith"),
    ],
)
async def test_split_full_name(
    client: Any, factory: Factory, first_name: str, last_name: str, full_name: str
) -> None:
    """Waldur splits a written full_name; gql-users keeps full_name read-only
    (docs/fields.md#computed-fields), so the same four cases are checked the other way round: names
    in, full_name rendered."""
    user = await factory.user("named", first_name=first_name, last_name=last_name)
    response = await client.get(detail_path(user), headers=await factory.auth(user))
    body = await json_of(response)
    assert (body["first_name"], body["last_name"], body["full_name"]) == (
        first_name,
        last_name,
        full_name,
    )


async def test_full_name_is_read_only_on_update(client: Any, factory: Factory) -> None:
    user = await factory.user("named", first_name="John", last_name="Smith")
    response = await client.patch(
        detail_path(user), json={"full_name": "John A Smith"}, headers=await factory.auth(user)
    )
    assert response.status == 200
    assert (await json_of(response))["full_name"] == "John Smith"


# --- UserNotificationsEnabledTest (77-79) ------------------------------------------------------


async def test_notifications_enabled_field_is_returned(client: Any, factory: Factory) -> None:
    user = await factory.user("notified")
    body = await json_of(await client.get(detail_path(user), headers=await factory.auth(user)))
    assert body["notifications_enabled"] is True


async def test_non_staff_user_cannot_update_notifications_enabled(
    client: Any, factory: Factory
) -> None:
    user = await factory.user("notified")
    payload = {"notifications_enabled": False, "agree_with_policy": True}
    response = await client.patch(detail_path(user), json=payload, headers=await factory.auth(user))
    assert response.status == 200
    assert (await json_of(response))["notifications_enabled"] is True


async def test_staff_user_can_update_notifications_enabled(client: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    user = await factory.user("notified")
    response = await client.patch(
        detail_path(user), json={"notifications_enabled": False}, headers=await factory.auth(staff)
    )
    assert response.status == 200
    assert (await json_of(response))["notifications_enabled"] is False


# --- RestrictedSerializerTest (97) and ``field`` on every response -----------------------------


async def test_serializer_returns_fields_required_in_request(client: Any, factory: Factory) -> None:
    user = await factory.user("fielded")
    response = await client.get(
        f"{detail_path(user)}?field=full_name&field=url", headers=await factory.auth(user)
    )
    body = await json_of(response)
    assert list(body) == ["url", "full_name"]  # serializer order, not request order


async def test_field_ignores_unknown_names_and_falls_back_to_all_fields(
    client: Any, factory: Factory
) -> None:
    user = await factory.user("fielded")
    headers = await factory.auth(user)
    body = await json_of(
        await client.get(f"{detail_path(user)}?field=uuid&field=bogus", headers=headers)
    )
    assert body == {"uuid": user.uuid.hex}
    body = await json_of(await client.get(f"{detail_path(user)}?field=bogus", headers=headers))
    assert "username" in body and "permissions" in body
    # a field hidden from this caller is unknown to it (normal users never see is_staff)
    body = await json_of(await client.get(f"{detail_path(user)}?field=is_staff", headers=headers))
    assert "is_staff" not in body and "username" in body


async def test_field_applies_to_list_me_and_create(client: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    headers = await factory.auth(staff)
    listed = await json_of(await client.get("/api/users/?field=username", headers=headers))
    assert listed == [{"username": "staff"}]
    me = await json_of(await client.get("/api/users/me/?field=token", headers=headers))
    assert me == {"token": await factory.token(staff)}
    created = await client.post(
        "/api/users/?field=username&field=email",
        json={"username": "made", "email": "made@example.com"},
        headers=headers,
    )
    assert created.status == 201
    assert await json_of(created) == {"username": "made", "email": "made@example.com"}


@pytest.mark.parametrize("method", ["put", "patch"])
async def test_field_on_update_without_username_works(
    client: Any, factory: Factory, method: str
) -> None:
    """docs/api-differences.md#no-server-errors: Waldur fails with a KeyError (500); here ``field``
    limits input and output."""
    user = await factory.user("fielded", first_name="Old", last_name="Name")
    response = await getattr(client, method)(
        f"{detail_path(user)}?field=first_name",
        json={"first_name": "New", "last_name": "Ignored"},
        headers=await factory.auth(user),
    )
    assert response.status == 200
    assert await json_of(response) == {"first_name": "New"}
    stored = await reloaded(factory, user)
    assert stored is not None and (stored.first_name, stored.last_name) == ("New", "Name")


async def test_field_limits_the_input_a_write_accepts(client: Any, factory: Factory) -> None:
    """docs/fields.md#the-field-parameter: on writes ``field`` also limits which input is taken;
    naming only read-only fields takes none, while a create still needs (and takes) username and
    email."""
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target", phone_number="+1 111")
    headers = await factory.auth(staff)
    response = await client.patch(
        f"{detail_path(target)}?field=uuid",
        json={"phone_number": "+2 222", "job_title": "Boss"},
        headers=headers,
    )
    assert await json_of(response) == {"uuid": target.uuid.hex}
    response = await client.patch(
        f"{detail_path(target)}?field=job_title",
        json={"phone_number": "+2 222", "job_title": "Boss"},
        headers=headers,
    )
    assert await json_of(response) == {"job_title": "Boss"}
    full = await json_of(await client.get(detail_path(target), headers=headers))
    assert full["phone_number"] == "+1 111" and full["job_title"] == "Boss"
    created = await client.post(
        "/api/users/?field=uuid",
        json={"username": "fresh", "email": "fresh@example.com", "job_title": "Ignored"},
        headers=headers,
    )
    assert created.status == 201
    body = await created.json()
    assert list(body) == ["uuid"]
    fresh = await json_of(await client.get(f"/api/users/{body['uuid']}/", headers=headers))
    assert fresh["username"] == "fresh" and fresh["job_title"] == ""
