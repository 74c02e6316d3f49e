"""The last details where the REST shim answers as Waldur does (docs/api-differences.md): HEAD
as GET, one field name per ``field`` value, failed logins without a challenge, ``ip_address``
on ``me`` only. Each test is named after the difference it pins."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from sqlalchemy import insert
from waldur_api_client.api.users import users_me_retrieve, users_retrieve
from waldur_api_client.models import UserMeFieldEnum
from waldur_api_client.types import UNSET

from gql_users.db.models import User
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.rest.scenario_helpers import client_with, detail_path, json_of, reloaded

LIST = "/api/users/"
ME = "/api/users/me/"
LOGIN = "/api-auth/password/"
USERS = 25  # the staff caller and 24 more


@pytest.fixture
async def staff_headers(factory: Factory) -> dict[str, str]:
    staff = await factory.user("aaa_staff", is_staff=True)
    await factory.session.execute(
        insert(User),
        [
            {"username": f"user{number:02d}", "email": f"u{number}@example.com"}
            for number in range(USERS - 1)
        ],
    )
    await factory.session.commit()
    return await factory.auth(staff)


# --- HEAD answers as GET does ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["", "?page_size=7&page=2", "?page=last&page_size=5", "?username=user01", "?username=nobody"],
)
async def test_head_on_the_list_carries_the_gets_link_and_content_type(
    client: Any, staff_headers: dict[str, str], query: str
) -> None:
    get = await client.get(LIST + query, headers=staff_headers)
    head = await client.head(LIST + query, headers=staff_headers)
    assert (head.status, get.status) == (200, 200)
    for name in ("Content-Type", "Link", "X-Result-Count"):
        assert head.headers[name] == get.headers[name], name
    assert head.headers["Content-Type"] == "application/json"
    # computed from the count alone: no Content-Length rather than one unlike the GET's
    assert (
        head.headers.get("Content-Length", get.headers["Content-Length"])
        == (get.headers["Content-Length"])
    )
    assert await head.read() == b""


@pytest.mark.parametrize("page", ["4", "0", "x", "-1", ""])
async def test_head_on_an_out_of_range_page_is_404_as_for_get(
    client: Any, staff_headers: dict[str, str], page: str
) -> None:
    query = f"?page_size=10&page={page}"
    get = await client.get(LIST + query, headers=staff_headers)
    head = await client.head(LIST + query, headers=staff_headers)
    assert (get.status, head.status) == (404, 404)
    assert await json_of(get) == {"detail": "Invalid page."}
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert "Link" not in head.headers


async def test_head_on_the_list_reads_no_rows(client: Any, staff_headers: dict[str, str]) -> None:
    """The count gives the headers: the caller's token and the count, as before."""
    head = await client.head(f"{LIST}?page_size=7&page=2", headers=staff_headers)
    assert head.headers["X-Result-Count"] == str(USERS)
    assert int(head.headers["X-SQL-Count"]) <= 2


async def test_head_on_me_carries_content_type_json(
    client: Any, staff_headers: dict[str, str]
) -> None:
    get = await client.get(ME, headers=staff_headers)
    head = await client.head(ME, headers=staff_headers)
    assert (get.status, head.status) == (200, 200)
    for name in ("Content-Type", "Content-Length", "X-Result-Count"):
        assert head.headers[name] == get.headers[name], name
    assert head.headers["Content-Type"] == "application/json"
    assert await head.read() == b""


# --- one field name per field parameter --------------------------------------------------------


async def test_field_with_a_comma_is_one_unknown_field_name(client: Any, factory: Factory) -> None:
    user = await factory.user("fielded")
    headers = await factory.auth(user)
    repeated = await json_of(
        await client.get(f"{detail_path(user)}?field=uuid&field=username", headers=headers)
    )
    assert repeated == {"uuid": user.uuid.hex, "username": "fielded"}
    for query in ("field=uuid,username", "field=uuid, username", "field=%20uuid"):
        body = await json_of(await client.get(f"{detail_path(user)}?{query}", headers=headers))
        assert "permissions" in body and "email" in body, query  # no known name: every field
    listed = await json_of(await client.get(f"{LIST}?field=uuid,username", headers=headers))
    assert "email" in listed[0]
    mixed = await json_of(
        await client.get(f"{detail_path(user)}?field=uuid,email&field=username", headers=headers)
    )
    assert mixed == {"username": "fielded"}  # only the repeated key's known name


async def test_field_with_a_comma_limits_no_write_input(client: Any, factory: Factory) -> None:
    """On writes ``field`` also limits which input is taken: ``a,b`` names no known field, so
    every writable field is taken, as with no ``field``; repeated keys limit to those names."""
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target", job_title="Old", phone_number="+1 111")
    headers = await factory.auth(staff)
    change = {"job_title": "Boss", "phone_number": "+2 222"}

    response = await client.patch(
        f"{detail_path(target)}?field=job_title,uuid", json=change, headers=headers
    )
    assert response.status == 200
    body = await json_of(response)
    assert (body["job_title"], body["phone_number"]) == ("Boss", "+2 222")
    assert "email" in body  # every field rendered
    stored = await reloaded(factory, target)
    assert stored is not None and (stored.job_title, stored.phone_number) == ("Boss", "+2 222")

    response = await client.patch(
        f"{detail_path(target)}?field=job_title&field=uuid",
        json={"job_title": "Chief", "phone_number": "+3 333"},
        headers=headers,
    )
    assert await json_of(response) == {"uuid": target.uuid.hex, "job_title": "Chief"}
    stored = await reloaded(factory, target)
    assert stored is not None and (stored.job_title, stored.phone_number) == ("Chief", "+2 222")


async def test_field_with_a_comma_on_create_takes_every_field(
    client: Any, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    response = await client.post(
        f"{LIST}?field=username,uuid",
        json={"username": "made", "email": "made@example.com", "job_title": "Taken"},
        headers=await factory.auth(staff),
    )
    assert response.status == 201
    body = await json_of(response)
    assert (body["username"], body["job_title"]) == ("made", "Taken")


# --- failed logins carry no WWW-Authenticate ---------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong"), ("nobody", "correct horse"), ("inactive", "correct horse")],
)
async def test_failed_login_is_401_without_www_authenticate(
    client: Any, factory: Factory, username: str, password: str
) -> None:
    await factory.user("alice", password="correct horse")
    await factory.user("inactive", password="correct horse", is_active=False)
    response = await client.post(LOGIN, json={"username": username, "password": password})
    assert response.status == 401
    assert await json_of(response) == {"detail": "Invalid username/password."}
    assert "WWW-Authenticate" not in response.headers


async def test_locked_out_login_is_401_without_www_authenticate(
    client: Any, factory: Factory, settings: Settings
) -> None:
    await factory.user("alice", password="correct horse")
    wrong = {"username": "alice", "password": "wrong"}
    for _ in range(settings.lockout_failures):
        refused = await client.post(LOGIN, json=wrong)
        assert refused.status == 401 and "WWW-Authenticate" not in refused.headers
    response = await client.post(LOGIN, json={"username": "alice", "password": "correct horse"})
    assert response.status == 401
    assert "locked out" in (await json_of(response))["detail"]
    assert "WWW-Authenticate" not in response.headers


async def test_other_authentication_failures_keep_www_authenticate(
    client: Any, factory: Factory
) -> None:
    """A bad token is refused before the login view, with the challenge, as everywhere; so is
    a missing one where it is needed."""
    await factory.user("alice", password="correct horse")
    bad_token = {"Authorization": "Token " + "0" * 40}
    login = await client.post(
        LOGIN, json={"username": "alice", "password": "correct horse"}, headers=bad_token
    )
    assert login.status == 401 and login.headers["WWW-Authenticate"] == "Token"
    for response in (
        await client.get(ME),
        await client.get(ME, headers=bad_token),
        await client.post("/api-auth/logout/"),
    ):
        assert response.status == 401 and response.headers["WWW-Authenticate"] == "Token"


# --- ip_address on me only ---------------------------------------------------------------------


async def test_me_endpoint_includes_ip_address_from_x_forwarded_for(
    settings: Settings, aiohttp_client: Any, factory: Factory
) -> None:
    """Waldur's scenario, behind proxies this server trusts (the test's 127.0.0.1 and the
    10.0.0.0/8 hop): the address they forward. Waldur's third scenario (null without any
    address) cannot happen over TCP."""
    client = await client_with(
        aiohttp_client,
        settings,
        trusted_proxies=[ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8")],
    )
    headers = await factory.auth(await factory.user("alice"))
    forwarded = {**headers, "X-Forwarded-For": "192.168.1.100, 10.0.0.1"}
    body = await json_of(await client.get(ME, headers=forwarded))
    assert body["ip_address"] == "192.168.1.100"


async def test_me_endpoint_includes_ip_address_from_remote_addr(
    client: Any, factory: Factory
) -> None:
    """Without trusted proxies the peer's address (the test client calls from 127.0.0.1); a
    forwarded address from an untrusted peer is ignored (tests/web/test_client_address.py)."""
    headers = await factory.auth(await factory.user("alice"))
    body = await json_of(await client.get(ME, headers=headers))
    assert body["ip_address"] == "127.0.0.1"
    assert list(body)[-1] == "ip_address"  # after the serializer's fields, as Waldur adds it
    spoofed = await json_of(
        await client.get(ME, headers={**headers, "X-Forwarded-For": "192.168.1.100, 10.0.0.1"})
    )
    assert spoofed["ip_address"] == "127.0.0.1"


async def test_me_selects_ip_address_with_field_like_any_field(
    client: Any, factory: Factory
) -> None:
    user = await factory.user("alice")
    headers = await factory.auth(user)
    body = await json_of(await client.get(f"{ME}?field=uuid", headers=headers))
    assert body == {"uuid": user.uuid.hex}
    body = await json_of(await client.get(f"{ME}?field=ip_address", headers=headers))
    assert body == {"ip_address": "127.0.0.1"}
    body = await json_of(
        await client.get(f"{ME}?field=ip_address&field=username&field=bogus", headers=headers)
    )
    assert body == {"username": "alice", "ip_address": "127.0.0.1"}  # serializer order
    body = await json_of(await client.get(f"{ME}?field=bogus", headers=headers))
    assert body["ip_address"] == "127.0.0.1" and "permissions" in body


async def test_ip_address_is_only_on_me(client: Any, factory: Factory) -> None:
    staff = await factory.user("staff", is_staff=True)
    headers = await factory.auth(staff)
    retrieved = await json_of(await client.get(detail_path(staff), headers=headers))
    listed = await json_of(await client.get(LIST, headers=headers))
    created = await json_of(
        await client.post(
            LIST, json={"username": "made", "email": "made@example.com"}, headers=headers
        )
    )
    updated = await json_of(
        await client.patch(detail_path(staff), json={"job_title": "Boss"}, headers=headers)
    )
    for body in (retrieved, listed[0], created, updated):
        assert "ip_address" not in body and "username" in body
    asked = await json_of(
        await client.get(f"{detail_path(staff)}?field=ip_address", headers=headers)
    )
    assert "ip_address" not in asked and "username" in asked  # unknown there: every field


async def test_the_generated_client_reads_ip_address_on_me_and_its_absence_elsewhere(
    api: Any, factory: Factory
) -> None:
    user = await factory.user("alice")
    client = api(await factory.token(user))
    me = await users_me_retrieve.asyncio(client=client)
    assert me.ip_address == "127.0.0.1"
    only = await users_me_retrieve.asyncio(client=client, field=[UserMeFieldEnum.IP_ADDRESS])
    assert only.ip_address == "127.0.0.1" and only.username is UNSET
    retrieved = await users_retrieve.asyncio(uuid=user.uuid, client=client)
    assert retrieved.ip_address is UNSET and retrieved.username == "alice"
