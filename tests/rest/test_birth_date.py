"""``birth_date`` through the generated client on a live server: created, replaced (PUT),
patched, cleared and read back in its models with each of the three body encodings; refused
with a field error for anything but a past ``YYYY-MM-DD``; chosen by ``?field=``; shown to the
user, staff and support only (docs/api-differences.md#birth-dates)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from waldur_api_client.api.users import (
    users_create,
    users_list,
    users_me_retrieve,
    users_partial_update,
    users_retrieve,
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

from gql_users.accounts import validation as v
from tests.conftest import Factory
from tests.rest.client_support import error_of, stored_user

ENCODINGS = {
    "json": (UserRequest, PatchedUserRequest),
    "form": (UserRequestForm, PatchedUserRequestForm),
    "multipart": (UserRequestMultipart, PatchedUserRequestMultipart),
}
ON_RECORD = date(1980, 1, 2)


def today_utc() -> date:
    return datetime.now(UTC).date()


@pytest.mark.parametrize("encoding", list(ENCODINGS))
async def test_create_put_patch_and_clear_through_each_encoding(
    api: Any, factory: Factory, session: Any, encoding: str
) -> None:
    full_body, patch_body = ENCODINGS[encoding]
    staff = await factory.user("staff", is_staff=True)
    staff_client = api(await factory.token(staff))
    created = await users_create.asyncio(
        client=staff_client,
        body=full_body(username="born", email="born@example.com", birth_date=date(1990, 5, 17)),
    )
    assert isinstance(created, User) and created.birth_date == date(1990, 5, 17)
    stored = await stored_user(session, created.uuid)
    assert stored is not None and stored.birth_date == date(1990, 5, 17)

    user = await factory.user("self", birth_date=ON_RECORD)
    client = api(await factory.token(user))
    replaced = await users_update.asyncio(
        uuid=user.uuid,
        client=client,
        body=full_body(username="self", email="self@example.com", birth_date=date(2000, 2, 29)),
    )
    assert replaced.birth_date == date(2000, 2, 29)
    patched = await users_partial_update.asyncio(
        uuid=user.uuid, client=client, body=patch_body(birth_date=date(1975, 12, 31))
    )
    assert patched.birth_date == date(1975, 12, 31)
    me = await users_me_retrieve.asyncio(client=client)
    assert isinstance(me, UserMe) and me.birth_date == date(1975, 12, 31)
    untouched = await users_partial_update.asyncio(
        uuid=user.uuid, client=client, body=patch_body(job_title="Keeper")
    )
    assert untouched.birth_date == date(1975, 12, 31)  # left out: kept

    # None is JSON null, an empty form value, or the multipart string "None": each clears it.
    cleared = await users_partial_update.asyncio(
        uuid=user.uuid, client=client, body=patch_body(birth_date=None)
    )
    assert cleared.birth_date is None and cleared.to_dict()["birth_date"] is None
    stored = await stored_user(session, user.uuid)
    assert stored is not None and stored.birth_date is None


async def test_the_wire_form_and_field_order(api: Any, factory: Factory) -> None:
    user = await factory.user("self", birth_date=ON_RECORD)
    response = await users_me_retrieve.asyncio_detailed(client=api(await factory.token(user)))
    body = json.loads(response.content)
    assert body["birth_date"] == "1980-01-02"
    keys = list(body)
    assert keys.index("last_name") + 1 == keys.index("birth_date")
    assert keys.index("birth_date") + 1 == keys.index("identity_provider_name")


BAD_DATES: list[tuple[str, Any, str]] = [
    ("json", "2020-13-01", v.INVALID_DATE),
    ("json", "2021-02-29", v.INVALID_DATE),
    ("json", "yesterday", v.INVALID_DATE),
    ("json", 20200101, v.INVALID_DATE),
    ("json", "20200101", v.INVALID_DATE),
    ("json", "2020-W01-1", v.INVALID_DATE),
    ("json", "2020-01-01T00:00:00Z", v.INVALID_DATE),
    ("json", "2020-01-01T00:00:00", v.INVALID_DATE),
    ("json", " 2020-01-01", v.INVALID_DATE),
    ("json", "2020-1-1", v.INVALID_DATE),
    ("json", True, v.INVALID_DATE),
    ("json", "", None),  # "" is a null in every encoding (forms cannot tell them apart)
    ("form", "yesterday", v.INVALID_DATE),
    ("form", 20200101, v.INVALID_DATE),
    ("multipart", "2020-13-01", v.INVALID_DATE),
    ("multipart", "2020-01-01T00:00:00Z", v.INVALID_DATE),
]


@pytest.mark.parametrize(("encoding", "value", "message"), BAD_DATES)
async def test_anything_but_a_date_is_a_field_error_and_writes_nothing(
    api: Any, factory: Factory, session: Any, encoding: str, value: Any, message: str | None
) -> None:
    user = await factory.user("self", birth_date=ON_RECORD, job_title="Before")
    client = api(await factory.token(user))
    patch_body = ENCODINGS[encoding][1]
    body = patch_body(birth_date=value, job_title="After")
    if message is None:
        patched = await users_partial_update.asyncio(uuid=user.uuid, client=client, body=body)
        assert patched.birth_date is None
        return
    with pytest.raises(UnexpectedStatus) as raised:
        await users_partial_update.asyncio(uuid=user.uuid, client=client, body=body)
    assert raised.value.status_code == 400
    assert error_of(raised.value) == {"birth_date": [message]}
    stored = await stored_user(session, user.uuid)
    assert stored is not None and (stored.birth_date, stored.job_title) == (ON_RECORD, "Before")


@pytest.mark.parametrize("encoding", list(ENCODINGS))
async def test_a_future_date_is_refused_on_create_and_update(
    api: Any, factory: Factory, session: Any, encoding: str
) -> None:
    full_body, patch_body = ENCODINGS[encoding]
    tomorrow = today_utc() + timedelta(days=1)
    staff = await factory.user("staff", is_staff=True)
    staff_client = api(await factory.token(staff))
    with pytest.raises(UnexpectedStatus) as refused_create:
        await users_create.asyncio(
            client=staff_client,
            body=full_body(username="unborn", email="unborn@example.com", birth_date=tomorrow),
        )
    assert refused_create.value.status_code == 400
    assert error_of(refused_create.value) == {"birth_date": [v.FUTURE_BIRTH_DATE]}
    assert await users_list.asyncio(client=staff_client, username="unborn") == []

    user = await factory.user("self", birth_date=ON_RECORD)
    with pytest.raises(UnexpectedStatus) as refused_update:
        await users_partial_update.asyncio(
            uuid=user.uuid,
            client=api(await factory.token(user)),
            body=patch_body(birth_date=tomorrow),
        )
    assert refused_update.value.status_code == 400
    assert error_of(refused_update.value) == {"birth_date": [v.FUTURE_BIRTH_DATE]}
    stored = await stored_user(session, user.uuid)
    assert stored is not None and stored.birth_date == ON_RECORD


async def test_the_field_parameter_selects_it(api: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    other = await factory.user("other", birth_date=ON_RECORD)
    client = api(await factory.token(staff))
    chosen = await users_retrieve.asyncio_detailed(
        uuid=other.uuid, client=client, field=[UserFieldEnum.BIRTH_DATE, UserFieldEnum.USERNAME]
    )
    assert list(json.loads(chosen.content).items()) == [
        ("username", "other"),
        ("birth_date", "1980-01-02"),
    ]
    assert chosen.parsed.birth_date == ON_RECORD
    mine = await users_me_retrieve.asyncio_detailed(
        client=api(await factory.token(other)), field=[UserMeFieldEnum.BIRTH_DATE]
    )
    assert json.loads(mine.content) == {"birth_date": "1980-01-02"}


async def test_shown_to_the_user_staff_and_support_only(api: Any, factory: Factory) -> None:
    customer = await factory.customer("Acme")
    staff = await factory.user("staff", is_staff=True)
    support = await factory.user("support", is_support=True)
    owner = await factory.user("owner", birth_date=date(1970, 3, 4))
    member = await factory.user("member", birth_date=ON_RECORD)
    manager = await factory.user("manager", is_identity_manager=True, birth_date=ON_RECORD)
    for person in (owner, member, manager):
        await factory.grant(person, "CUSTOMER.OWNER", customer)

    for privileged in (staff, support):
        client = api(await factory.token(privileged))
        seen = await users_retrieve.asyncio(uuid=member.uuid, client=client)
        assert seen.birth_date == ON_RECORD

    for outsider in (owner, manager):
        client = api(await factory.token(outsider))
        response = await users_retrieve.asyncio_detailed(uuid=member.uuid, client=client)
        assert response.status_code == 200 and "birth_date" not in json.loads(response.content)
        # asking for it by name falls back to every field the caller may read
        narrowed = await users_retrieve.asyncio_detailed(
            uuid=member.uuid, client=client, field=[UserFieldEnum.BIRTH_DATE]
        )
        assert json.loads(narrowed.content) == json.loads(response.content)

    # In a list, the owner's own entry carries theirs (on a page of any size); others' do not.
    page = await users_list.asyncio_detailed(
        client=api(await factory.token(owner)),
        field=[UserFieldEnum.USERNAME, UserFieldEnum.BIRTH_DATE],
    )
    by_name = {item["username"]: item for item in json.loads(page.content)}
    assert by_name.keys() == {"owner", "member", "manager"}
    assert by_name["owner"] == {"username": "owner", "birth_date": "1970-03-04"}
    assert by_name["member"] == {"username": "member"}
    staff_page = await users_list.asyncio_detailed(
        client=api(await factory.token(support)),
        field=[UserFieldEnum.USERNAME, UserFieldEnum.BIRTH_DATE],
        username="member",
    )
    assert json.loads(staff_page.content) == [{"username": "member", "birth_date": "1980-01-02"}]


async def test_the_published_openapi_document_describes_it(api: Any) -> None:
    response = await api().get_async_httpx_client().get("/api/schema/")
    schemas = response.json()["components"]["schemas"]
    for model in ("User", "UserMe", "UserRequest", "UserRequestForm", "PatchedUserRequest"):
        assert schemas[model]["properties"]["birth_date"] == {
            "type": "string",
            "format": "date",
            "nullable": True,
        }, model
    assert "birth_date" in schemas["UserFieldEnum"]["enum"]
