"""The generated client creates, reads, updates and deletes users on a live server
(docs/visibility.md#retrieving-one-user, docs/writes.md#create, docs/writes.md#update,
docs/writes.md#delete, docs/api-differences.md#token-lifetime-on-create,
docs/api-differences.md#images-in-a-media-directory,
docs/api-differences.md#uuids-with-or-without-hyphens), with each of its three body encodings.

JSON (``UserRequest``), form (``UserRequestForm``: booleans ``true``/``false``, None as an empty
value) and multipart (``UserRequestMultipart``: booleans ``True``/``False``, None as the string
``None``, the image as a file part) all go through the same core.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any

import pytest
from waldur_api_client.api.users import (
    users_create,
    users_destroy,
    users_me_retrieve,
    users_partial_update,
    users_retrieve,
    users_token_retrieve,
    users_update,
)
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    PatchedUserRequest,
    PatchedUserRequestForm,
    PatchedUserRequestMultipart,
    User,
    UserFieldEnum,
    UserMe,
    UserMeFieldEnum,
    UserRequest,
    UserRequestForm,
    UserRequestMultipart,
)
from waldur_api_client.types import File

from tests.conftest import Factory
from tests.rest.client_support import error_of, stored_user, tiny_png


async def test_create_with_json_returns_201_location_and_the_new_user(
    api: Any, factory: Factory, session: Any
) -> None:
    staff = await factory.user("staff", is_staff=True)
    client = api(await factory.token(staff))
    response = await users_create.asyncio_detailed(
        client=client,
        body=UserRequest(
            username="newbie",
            email="newbie@example.com",
            first_name="New",
            last_name="Bie",
            job_title="Tester",
            token_lifetime=7200,
            agree_with_policy=True,
        ),
    )
    assert response.status_code == 201
    created = response.parsed
    assert isinstance(created, User)
    assert (created.username, created.full_name, created.job_title) == (
        "newbie",
        "New Bie",
        "Tester",
    )
    assert created.is_staff is False and created.is_active is True
    assert created.agreement_date is None  # agree_with_policy is ignored on create
    assert created.slug.startswith("newbie")
    assert response.headers["Location"] == created.url
    assert created.url.endswith(f"/api/users/{created.uuid.hex}/")
    assert "token" not in created.to_dict()  # not the caller's own user
    stored = await stored_user(session, created.uuid)
    # docs/api-differences.md#token-lifetime-on-create: honoured when given
    assert stored is not None and stored.token_lifetime == 7200
    token = await users_token_retrieve.asyncio(uuid=created.uuid, client=client)
    assert token.user_username == "newbie" and token.user_token_lifetime == 7200


async def test_create_with_a_form_body(api: Any, factory: Factory, session: Any) -> None:
    staff = await factory.user("staff", is_staff=True)
    client = api(await factory.token(staff))
    created = await users_create.asyncio(
        client=client,
        body=UserRequestForm(
            username="formed",
            email="formed@example.com",
            is_support=True,
            notifications_enabled=False,
            preferred_language="et",
            token_lifetime=None,  # sent as an empty value: no expiry
        ),
    )
    assert isinstance(created, User)
    assert (created.username, created.email, created.preferred_language) == (
        "formed", "formed@example.com", "et",
    )  # fmt: skip
    assert created.is_support is True and created.notifications_enabled is False
    stored = await stored_user(session, created.uuid)
    assert stored is not None and stored.token_lifetime is None


async def test_create_with_multipart_uploads_the_image_served_under_media(
    api: Any, factory: Factory, session: Any
) -> None:
    staff = await factory.user("staff", is_staff=True)
    client = api(await factory.token(staff))
    png = tiny_png()
    created = await users_create.asyncio(
        client=client,
        body=UserRequestMultipart(
            username="pictured",
            email="pictured@example.com",
            is_staff=False,  # arrives as the string "False"
            is_active=True,  # "True"
            token_lifetime=None,  # "None"
            image=File(payload=io.BytesIO(png), file_name="me.png", mime_type="image/png"),
        ),
    )
    assert isinstance(created, User) and created.username == "pictured"
    assert created.is_staff is False and created.is_active is True
    assert re.search(rf"/media/user/{created.uuid.hex}-[0-9a-f]{{16}}\.png$", created.image)
    served = await client.get_async_httpx_client().get(created.image)
    assert served.status_code == 200 and served.content == png
    stored = await stored_user(session, created.uuid)
    assert stored is not None and stored.token_lifetime is None


async def test_create_with_a_broken_image_is_a_field_error(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    client = api(await factory.token(staff))
    with pytest.raises(UnexpectedStatus) as raised:
        await users_create.asyncio(
            client=client,
            body=UserRequestMultipart(
                username="broken",
                email="broken@example.com",
                image=File(payload=io.BytesIO(b"not a png"), file_name="x.png"),
            ),
        )
    assert raised.value.status_code == 400 and list(error_of(raised.value)) == ["image"]


async def test_retrieve_accepts_hyphenated_and_hex_uuids(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    other = await factory.user("other", first_name="Ott", phone_number="+372 555")
    client = api(await factory.token(staff))
    by_hyphens = await users_retrieve.asyncio(uuid=other.uuid, client=client)
    by_hex = await users_retrieve.asyncio(uuid=other.uuid.hex, client=client)  # type: ignore[arg-type]
    assert by_hyphens.to_dict() == by_hex.to_dict()
    assert by_hex.uuid == other.uuid and by_hex.phone_number == "+372 555"
    assert by_hex.date_joined.tzinfo is not None and by_hex.has_active_session is True
    assert "token" not in by_hex.to_dict() and by_hex.token_expires_at
    chosen = await users_retrieve.asyncio_detailed(
        uuid=other.uuid,
        client=client,
        field=[UserFieldEnum.PHONE_NUMBER, UserFieldEnum.USERNAME, UserFieldEnum.HAS_PASSKEY],
    )
    assert json.loads(chosen.content) == {"username": "other", "phone_number": "+372 555"}
    assert chosen.parsed.phone_number == "+372 555"
    with pytest.raises(UnexpectedStatus) as unknown:
        await users_retrieve.asyncio(uuid=uuid.uuid4(), client=client)
    assert unknown.value.status_code == 404
    assert error_of(unknown.value) == {"detail": "No User matches the given query."}


async def test_me_parses_as_user_me_with_the_callers_token(api: Any, factory: Factory) -> None:
    user = await factory.user("plain", first_name="Pla", last_name="In")
    token = await factory.token(user)
    client = api(token)
    me = await users_me_retrieve.asyncio(client=client)
    assert isinstance(me, UserMe)
    assert (me.uuid, me.username, me.full_name) == (user.uuid, "plain", "Pla In")
    assert me.token == token and me.token_lifetime == 3600
    assert "is_staff" not in me.to_dict()  # privileged fields are hidden from normal users
    narrowed = await users_me_retrieve.asyncio_detailed(
        client=client, field=[UserMeFieldEnum.TOKEN, UserMeFieldEnum.UUID]
    )
    assert json.loads(narrowed.content) == {"uuid": user.uuid.hex, "token": token}
    assert narrowed.parsed.uuid == user.uuid


async def test_put_with_json_by_the_user_themselves(
    api: Any, factory: Factory, session: Any
) -> None:
    user = await factory.user("owner")
    client = api(await factory.token(user))
    updated = await users_update.asyncio(
        uuid=user.uuid,
        client=client,
        body=UserRequest(
            username="renamed",  # read-only on update
            email="new@example.com",  # changes only through change_email
            phone_number="+1 (555) 0100",
            token_lifetime=100,
            is_staff=True,  # a normal user's write of is_staff is dropped: 200, not 403
        ),
    )
    assert isinstance(updated, User)
    assert (updated.username, updated.email) == ("owner", "owner@example.com")
    assert updated.phone_number == "+1 (555) 0100" and updated.token_lifetime == 100
    stored = await stored_user(session, user.uuid)
    assert stored is not None and stored.is_staff is False and stored.token_lifetime == 100


async def test_patch_with_json_form_and_multipart(api: Any, factory: Factory, session: Any) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target", agreement_date=None)
    client = api(await factory.token(staff))

    with pytest.raises(UnexpectedStatus) as not_agreed:
        await users_partial_update.asyncio(
            uuid=target.uuid, client=client, body=PatchedUserRequest(job_title="Boss")
        )
    assert not_agreed.value.status_code == 400
    assert error_of(not_agreed.value) == {"agree_with_policy": ["User must agree with the policy."]}

    by_json = await users_partial_update.asyncio(
        uuid=target.uuid,
        client=client,
        body=PatchedUserRequest(job_title="Boss", agree_with_policy=True, description="VIP"),
    )
    assert by_json.job_title == "Boss" and by_json.description == "VIP"
    assert by_json.agreement_date is not None

    by_form = await users_partial_update.asyncio(
        uuid=target.uuid.hex,  # type: ignore[arg-type]
        client=client,
        body=PatchedUserRequestForm(
            is_support=True, notifications_enabled=False, first_name="Tar", last_name="Get"
        ),
    )
    assert by_form.is_support is True and by_form.notifications_enabled is False
    assert by_form.full_name == "Tar Get" and by_form.job_title == "Boss"

    png = tiny_png(3, 2)
    with_image = await users_partial_update.asyncio(
        uuid=target.uuid,
        client=client,
        body=PatchedUserRequestMultipart(
            is_support=False,  # "False"
            is_staff=True,  # "True"
            token_lifetime=None,  # "None"; staff cannot set another user's lifetime anyway
            image=File(payload=io.BytesIO(png), file_name="face.png", mime_type="image/png"),
        ),
    )
    assert with_image.is_support is False and with_image.is_staff is True
    served = await client.get_async_httpx_client().get(with_image.image)
    assert served.status_code == 200 and served.content == png
    stored = await stored_user(session, target.uuid)
    assert stored is not None and stored.token_lifetime == 3600

    without_image = await users_partial_update.asyncio(
        uuid=target.uuid,
        client=client,
        body=PatchedUserRequestMultipart(image=None),  # "None"
    )
    assert without_image.image is None
    gone = await client.get_async_httpx_client().get(with_image.image)
    assert gone.status_code == 404


async def test_patch_own_token_lifetime_to_none_by_form_and_multipart(
    api: Any, factory: Factory, session: Any
) -> None:
    user = await factory.user("self")
    client = api(await factory.token(user))
    by_form = await users_partial_update.asyncio(
        uuid=user.uuid, client=client, body=PatchedUserRequestForm(token_lifetime=None)
    )
    assert by_form.token_lifetime is None and by_form.token_expires_at is None
    by_multipart = await users_partial_update.asyncio(
        uuid=user.uuid,
        client=client,
        body=PatchedUserRequestMultipart(
            token_lifetime=600, organization="Own Org", first_name="J\u00fcrgen \u4e2d"
        ),
    )
    assert by_multipart.token_lifetime == 600 and by_multipart.organization == "Own Org"
    assert by_multipart.first_name == "J\u00fcrgen \u4e2d"  # text parts default to UTF-8
    stored = await stored_user(session, user.uuid)
    assert stored is not None and stored.token_lifetime == 600


async def test_delete_answers_204_and_the_user_is_gone(
    api: Any, factory: Factory, session: Any
) -> None:
    staff = await factory.user("staff", is_staff=True)
    doomed = await factory.user("doomed")
    client = api(await factory.token(staff))
    response = await users_destroy.asyncio_detailed(uuid=doomed.uuid, client=client)
    assert response.status_code == 204
    assert await stored_user(session, doomed.uuid) is None
    with pytest.raises(UnexpectedStatus) as again:
        await users_destroy.asyncio_detailed(uuid=doomed.uuid, client=client)
    assert again.value.status_code == 404


async def test_put_with_form_and_multipart_bodies(api: Any, factory: Factory, session: Any) -> None:
    user = await factory.user("putter", email="putter@example.com")
    client = api(await factory.token(user))
    by_form = await users_update.asyncio(
        uuid=user.uuid,
        client=client,
        body=UserRequestForm(
            username="putter",
            email="putter@example.com",
            organization="Form Org",
            agree_with_policy=True,
            token_lifetime=None,  # an empty value: null
        ),
    )
    assert by_form.organization == "Form Org" and by_form.token_lifetime is None

    png = tiny_png(1, 1)
    by_multipart = await users_update.asyncio(
        uuid=user.uuid.hex,  # type: ignore[arg-type]
        client=client,
        body=UserRequestMultipart(
            username="putter",
            email="putter@example.com",
            organization="Multipart Org",
            token_lifetime=900,
            image=File(payload=io.BytesIO(png), file_name="p.png", mime_type="image/png"),
        ),
    )
    assert by_multipart.organization == "Multipart Org" and by_multipart.token_lifetime == 900
    served = await client.get_async_httpx_client().get(by_multipart.image)
    assert served.content == png
    stored = await stored_user(session, user.uuid)
    assert stored is not None and by_multipart.image.endswith(f"/media/{stored.image}")
    assert re.fullmatch(rf"user/{user.uuid.hex}-[0-9a-f]{{16}}\.png", stored.image)


async def test_create_refusals_are_field_errors(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    await factory.user("retired", is_active=False)
    client = api(await factory.token(staff))
    cases = [
        # docs/api-differences.md#no-server-errors
        (UserRequest(username="retired", email="r@example.com"), "username"),
        (UserRequest(username="Upper Case", email="u@example.com"), "username"),
        (UserRequest(username="fine", email="not-an-email"), "email"),
        (UserRequest(username="fine", email="f@example.com", token_lifetime=59), "token_lifetime"),
        (
            UserRequestForm(username="fine", email="f@example.com", phone_number="abc"),
            "phone_number",
        ),
    ]
    for body, field in cases:
        with pytest.raises(UnexpectedStatus) as raised:
            await users_create.asyncio(client=client, body=body)
        assert raised.value.status_code == 400
        assert list(error_of(raised.value)) == [field], body
    with pytest.raises(UnexpectedStatus) as clash:
        await users_create.asyncio(
            client=client, body=UserRequest(username="retired", email="r@example.com")
        )
    assert error_of(clash.value) == {"username": ["user with this username already exists."]}
