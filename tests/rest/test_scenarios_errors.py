"""Error shapes and codes of docs/rest.md#error-bodies, docs/api-differences.md#no-server-errors:
wrong methods, malformed bodies, malformed identifiers. Every case gets a DRF-shaped 4xx, never a
500.
"""

from __future__ import annotations

from typing import Any

import pytest

from gql_users.db.models import User
from tests.conftest import Factory
from tests.rest.scenario_helpers import NOT_FOUND, detail_path, json_of

LIST = "/api/users/"


@pytest.fixture
async def staff(factory: Factory) -> User:
    return await factory.user("staff", is_staff=True)


# --- 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", LIST),
        ("PUT", LIST),
        ("PATCH", LIST),
        ("POST", "/api/users/me/"),
        ("DELETE", "/api/users/me/"),
        ("GET", "/api/users/confirm_email/"),
        ("POST", "{user}"),
        ("GET", "{user}refresh_token/"),
        ("POST", "{user}token/"),
        ("GET", "{user}change_email/"),
        ("GET", "{user}cancel_change_email/"),
        ("GET", "{user}change_password/"),
        ("PUT", "{user}pull_remote_user/"),
    ],
)
async def test_wrong_method_is_405_with_the_drf_detail(
    client: Any, factory: Factory, staff: User, method: str, path: str
) -> None:
    url = path.format(user=detail_path(staff))
    response = await client.request(method, url, headers=await factory.auth(staff))
    assert response.status == 405, await response.text()
    assert await json_of(response) == {"detail": f'Method "{method}" not allowed.'}
    assert method not in response.headers["Allow"]


# --- request bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"username": "a",}', b"\xff\xfe", b'{"a": NaN}', b"[" * 2000 + b"]" * 2000],
    ids=["broken", "trailing-comma", "not-utf8", "nan", "too-deep"],
)
async def test_a_body_that_is_not_json_is_400_with_detail(
    client: Any, factory: Factory, staff: User, raw: bytes
) -> None:
    headers = await factory.auth(staff) | {"Content-Type": "application/json"}
    for method, path in (("POST", LIST), ("PATCH", detail_path(staff))):
        response = await client.request(method, path, data=raw, headers=headers)
        assert response.status == 400, (method, await response.text())
        body = await json_of(response)
        assert list(body) == ["detail"] and body["detail"].startswith("JSON parse error")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(b"[1, 2]", "list"), (b'"text"', "str"), (b"42", "int"), (b"null", "NoneType")],
)
async def test_a_json_body_that_is_not_an_object_is_400_with_detail(
    client: Any, factory: Factory, staff: User, raw: bytes, kind: str
) -> None:
    headers = await factory.auth(staff) | {"Content-Type": "application/json"}
    response = await client.patch(detail_path(staff), data=raw, headers=headers)
    assert response.status == 400
    assert await json_of(response) == {
        "detail": f"Invalid data. Expected a dictionary, but got {kind}."
    }


async def test_action_bodies_of_the_wrong_type_are_400(
    client: Any, factory: Factory, staff: User
) -> None:
    headers = await factory.auth(staff) | {"Content-Type": "application/json"}
    for action in ("change_email", "change_password"):
        response = await client.post(detail_path(staff, action), data=b"[]", headers=headers)
        assert response.status == 400, action
        assert "detail" in await json_of(response)
    response = await client.post("/api/users/confirm_email/", data=b"[]", headers=headers)
    assert response.status == 400


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("is_staff", "maybe", "Must be a valid boolean."),
        ("is_active", [True], "Must be a valid boolean."),
        ("first_name", {"a": 1}, "Not a valid string."),
        ("first_name", True, "Not a valid string."),
        ("token_lifetime", "soon", "A valid integer is required."),
        ("token_lifetime", 10**30, "Ensure this value is less than or equal to 2147483647."),
        ("token_lifetime", 1.5, "A valid integer is required."),
        ("job_title", "x" * 121, "Ensure this field has no more than 120 characters."),
        (
            "slug",
            "not a slug!",
            'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.',
        ),
        ("first_name", None, "This field may not be null."),
    ],
)
async def test_fields_of_the_wrong_type_are_field_errors(
    client: Any, factory: Factory, staff: User, field: str, value: Any, message: str
) -> None:
    response = await client.patch(
        detail_path(staff), json={field: value}, headers=await factory.auth(staff)
    )
    assert response.status == 400
    assert await json_of(response) == {field: [message]}


async def test_unknown_body_keys_are_ignored(client: Any, factory: Factory, staff: User) -> None:
    response = await client.patch(
        detail_path(staff),
        json={"password": "x", "id": 99, "nonsense": []},
        headers=await factory.auth(staff),
    )
    assert response.status == 200


async def test_a_non_json_content_type_is_read_as_json_or_refused_with_400(
    client: Any, factory: Factory, staff: User
) -> None:
    headers = await factory.auth(staff) | {"Content-Type": "text/plain"}
    response = await client.patch(detail_path(staff), data=b"plain words", headers=headers)
    assert response.status == 400
    assert "detail" in await json_of(response)


async def test_a_broken_multipart_body_is_400(client: Any, factory: Factory, staff: User) -> None:
    headers = await factory.auth(staff) | {"Content-Type": "multipart/form-data; boundary=xyz"}
    response = await client.patch(detail_path(staff), data=b"--abc\r\nnonsense", headers=headers)
    assert 400 <= response.status < 500
    response = await client.patch(
        detail_path(staff),
        data=b"garbage",
        headers=await factory.auth(staff) | {"Content-Type": "multipart/form-data"},
    )
    assert response.status == 400
    assert "detail" in await json_of(response)


async def test_a_multipart_part_with_a_malformed_header_is_400(
    client: Any, factory: Factory, staff: User
) -> None:
    """aiohttp parses part headers like HTTP headers and refuses control characters."""
    raw = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="\x1b\x05x"\r\n\r\n'
        b"true\r\n--b0undary--\r\n"
    )
    headers = await factory.auth(staff) | {"Content-Type": "multipart/form-data; boundary=b0undary"}
    response = await client.post(LIST, data=raw, headers=headers)
    assert response.status == 400
    assert (await json_of(response))["detail"].startswith("Multipart form parse error")


async def test_an_image_sent_as_json_is_a_field_error(
    client: Any, factory: Factory, staff: User
) -> None:
    response = await client.patch(
        detail_path(staff), json={"image": "aGVsbG8="}, headers=await factory.auth(staff)
    )
    assert response.status == 400
    assert await json_of(response) == {
        "image": ["The submitted data was not a file. Check the encoding type on the form."]
    }


# --- identifiers and query values --------------------------------------------------------------


@pytest.mark.parametrize("bad", ["not-a-uuid", "0" * 31, "z" * 32, "%00", "me2"])
async def test_an_invalid_uuid_in_the_url_is_404(
    client: Any, factory: Factory, staff: User, bad: str
) -> None:
    headers = await factory.auth(staff)
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "refresh_token/")):
        response = await client.request(method, f"{LIST}{bad}/{suffix}", json={}, headers=headers)
        assert response.status == 404, (method, suffix)
        assert await json_of(response) == NOT_FOUND


async def test_a_hyphenated_uuid_in_the_url_is_accepted(
    client: Any, factory: Factory, staff: User
) -> None:
    response = await client.get(f"{LIST}{staff.uuid}/", headers=await factory.auth(staff))
    assert response.status == 200
    assert (await json_of(response))["uuid"] == staff.uuid.hex


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date_joined=yesterday", {"date_joined": ["Enter a valid date/time."]}),
        ("modified=2024-13-45", {"modified": ["Enter a valid date/time."]}),
        ("o=username,,bogus", None),
    ],
)
async def test_unparseable_query_values_are_400(
    client: Any, factory: Factory, staff: User, query: str, expected: Any
) -> None:
    response = await client.get(f"{LIST}?{query}", headers=await factory.auth(staff))
    assert response.status == 400
    body = await json_of(response)
    assert body == expected if expected is not None else list(body) == ["o"]


@pytest.mark.parametrize("name", ["full_name", "username", "username_list", "organization_roles"])
async def test_a_nul_character_in_a_filter_is_400_not_a_database_error(
    client: Any, factory: Factory, staff: User, name: str
) -> None:
    """PostgreSQL cannot compare text with NUL in it; Django's fields refuse it up front."""
    response = await client.get(f"{LIST}?{name}=a%00b", headers=await factory.auth(staff))
    assert response.status == 400
    assert await json_of(response) == {name: ["Null characters are not allowed."]}


async def test_a_nul_character_in_a_body_is_a_field_error(
    client: Any, factory: Factory, staff: User
) -> None:
    headers = await factory.auth(staff)
    response = await client.patch(
        detail_path(staff), json={"first_name": "a\x00b"}, headers=headers
    )
    assert response.status == 400
    assert await json_of(response) == {"first_name": ["Null characters are not allowed."]}
    response = await client.post(
        LIST, data={"username": "nul\x00", "email": "n@example.com"}, headers=headers
    )
    assert response.status == 400
    assert list(await json_of(response)) == ["username"]


async def test_a_nul_character_in_login_credentials_is_a_field_error(client: Any) -> None:
    response = await client.post(
        "/api-auth/password/", json={"username": "a\x00b", "password": "x\x00y"}
    )
    assert response.status == 400
    assert await json_of(response) == {
        "username": ["Null characters are not allowed."],
        "password": ["Null characters are not allowed."],
    }


@pytest.mark.parametrize(
    "query",
    [
        "username=%ff%fe",
        "query=a%20b%20c%20d",
        "username_list=,,,",
        "email=" + "x" * 2000,
    ],
)
async def test_odd_but_valid_query_values_are_200(
    client: Any, factory: Factory, staff: User, query: str
) -> None:
    response = await client.get(f"{LIST}?{query}", headers=await factory.auth(staff))
    assert response.status == 200, await response.text()
    assert isinstance(await json_of(response), list)
