"""The generated client lists and counts users on a live server (docs/visibility.md#listing-users,
docs/rest.md#filters, docs/api-differences.md#repeated-o-keys-all-apply,
docs/api-differences.md#commas-in-link-urls).

Every call goes through ``waldur_api_client`` exactly as a legacy client would make it: repeated
``o`` and ``field`` keys, booleans as ``true``/``false``, hyphenated UUIDs, ISO datetimes, and
``asyncio_all`` following the ``Link`` header from page to page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from waldur_api_client.api.users import users_count, users_list, users_me_count
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import MarketplaceServiceProviderUserOEnum as Order
from waldur_api_client.models import User as ClientUser
from waldur_api_client.models import UserFieldEnum as Field
from waldur_api_client.utils import parse_link_header

from tests.conftest import Factory
from tests.rest.client_support import add_users, error_of

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


async def team(factory: Factory) -> dict[str, Any]:
    """Staff, a customer with five members of Acme in various roles, and outsiders."""
    staff = await factory.user("staff", is_staff=True)
    customer = await factory.customer("Acme customer")
    members = {
        "alice": dict(job_title="Engineer", first_name="Alice", last_name="Smith"),
        "bob": dict(job_title="Engineer", first_name="Bob", last_name="Smith"),
        "carol": dict(job_title="Engineer lead", first_name="Carol", last_name="Jones"),
        "dave": dict(job_title="Manager", first_name="Dave", last_name="Smith"),
    }
    users = {}
    for username, fields in members.items():
        users[username] = await factory.user(username, organization="Acme", **fields)
        await factory.grant(users[username], "CUSTOMER.SUPPORT", customer)
    users["old"] = await factory.user(
        "old", organization="Acme", job_title="Engineer", date_joined=LONG_AGO
    )
    await factory.grant(users["old"], "CUSTOMER.SUPPORT", customer)
    users["gone"] = await factory.user(
        "gone", organization="Acme", job_title="Engineer", is_active=False
    )
    await factory.grant(users["gone"], "CUSTOMER.SUPPORT", customer)
    users["outsider"] = await factory.user("outsider", organization="Acme", job_title="Engineer")
    return {"staff": staff, "customer": customer, **users}


async def test_several_filters_at_once_with_repeated_o_and_field(
    api: Any, factory: Factory
) -> None:
    world = await team(factory)
    client = api(await factory.token(world["staff"]))
    response = await users_list.asyncio_detailed(
        client=client,
        customer_uuid=world["customer"].uuid,
        organization="acm",
        job_title="engineer",
        is_active=True,
        date_joined=datetime.now(UTC) - timedelta(days=1),
        query="smith",
        o=[Order.JOB_TITLE, Order.VALUE_11],  # job_title, then -username
        field=[Field.USERNAME, Field.UUID, Field.JOB_TITLE],
    )
    assert response.status_code == 200
    # old joined too early, gone is inactive, outsider is not in the customer, dave manages
    # and carol is not a Smith.
    assert [user.username for user in response.parsed] == ["bob", "alice"]
    assert response.headers["X-Result-Count"] == "2"
    # Field selection keeps the serializer's order, not the order of the request.
    assert [list(item) for item in json.loads(response.content)] == [
        ["uuid", "username", "job_title"]
    ] * 2
    parsed: ClientUser = response.parsed[0]
    assert parsed.uuid == world["bob"].uuid and parsed.job_title == "Engineer"


async def test_all_repeated_o_keys_apply_in_order(api: Any, factory: Factory) -> None:
    world = await team(factory)
    client = api(await factory.token(world["staff"]))
    by_job_then_name_descending = await users_list.asyncio(
        client=client,
        organization="Acme",
        o=[Order.VALUE_6, Order.VALUE_11],  # -job_title, -username
        is_active=True,
    )
    assert [user.username for user in by_job_then_name_descending] == [
        "dave", "carol", "outsider", "old", "bob", "alice",
    ]  # fmt: skip
    by_name_descending = await users_list.asyncio(
        client=client, organization="Acme", is_active=True, o=[Order.VALUE_11]
    )
    assert [user.username for user in by_name_descending] == [
        "outsider", "old", "dave", "carol", "bob", "alice",
    ]  # fmt: skip


async def test_page_and_page_size_with_headers(api: Any, factory: Factory) -> None:
    world = await team(factory)
    client = api(await factory.token(world["staff"]))
    pages = []
    for number in (1, 2, 3):
        response = await users_list.asyncio_detailed(
            client=client, organization="Acme", page=number, page_size=3
        )
        assert response.headers["X-Result-Count"] == "7"
        pages.append([user.username for user in response.parsed])
        links = parse_link_header(response.headers["Link"])
        assert ("next" in links) == (number < 3)
        assert ("prev" in links) == (number > 1)
        assert "page=3" in links["last"] and "page=" not in links["first"]
    assert pages == [["alice", "bob", "carol"], ["dave", "gone", "old"], ["outsider"]]

    # The links are absolute and followable as they stand; page=last works as well.
    two_words = await users_list.asyncio_detailed(
        client=client, organization="Acme", page_size=3, query="alice jones"
    )  # word 1 in first_name or word 2 in last_name also match (docs/rest.md#filters)
    assert [user.username for user in two_words.parsed] == ["alice", "carol"]
    assert "page=" not in two_words.headers["Link"]  # one page: first and last, unpaged
    middle = await users_list.asyncio_detailed(
        client=client, organization="Acme", page=2, page_size=3
    )
    links = parse_link_header(middle.headers["Link"])
    followed = await client.get_async_httpx_client().get(links["next"])
    assert [item["username"] for item in followed.json()] == ["outsider"]
    followed_back = await client.get_async_httpx_client().get(links["prev"])
    assert [item["username"] for item in followed_back.json()] == ["alice", "bob", "carol"]
    last = await users_list.asyncio(
        client=client,
        organization="Acme",
        page="last",  # type: ignore[arg-type]
        page_size=3,
    )
    assert [user.username for user in last] == ["outsider"]

    with pytest.raises(UnexpectedStatus) as past_the_end:
        await users_list.asyncio(client=client, organization="Acme", page=4, page_size=3)
    assert past_the_end.value.status_code == 404
    assert error_of(past_the_end.value) == {"detail": "Invalid page."}


async def test_default_page_size_is_ten_and_caller_token_is_only_on_a_page_of_one(
    api: Any, factory: Factory, session: Any
) -> None:
    staff = await factory.user("staff", is_staff=True)
    await add_users(session, "member", 12)
    client = api(await factory.token(staff))
    response = await users_list.asyncio_detailed(client=client)
    assert len(response.parsed) == 10 and response.headers["X-Result-Count"] == "13"
    assert all("token" not in user.to_dict() for user in response.parsed)
    (only_me,) = await users_list.asyncio(client=client, username="staff")
    assert only_me.token == await factory.token(staff) and only_me.token_lifetime == 3600


async def test_asyncio_all_follows_links_across_pages_with_a_comma_filter(
    api: Any, factory: Factory, session: Any
) -> None:
    """More than two pages of 100, a ``username_list`` whose commas the Link header must
    percent-encode, and repeated ``o`` and ``field`` keys kept on every page."""
    staff = await factory.user("staff", is_staff=True)
    bulk = await add_users(session, "bulk", 260, organization="Bulk Org")
    wanted = [user.username for user in bulk if not user.username.endswith("7")]  # 234
    client = api(await factory.token(staff))

    first = await users_list.asyncio_detailed(
        client=client, username_list=",".join(wanted), o=[Order.VALUE_11], page_size=100
    )
    link = first.headers["Link"]
    assert "%2C" in link and "," not in link.replace('", <', "")
    assert parse_link_header(link)["next"].endswith("page=2")

    everyone = await users_list.asyncio_all(
        client=client,
        username_list=",".join(wanted),
        organization="bulk",
        o=[Order.ORGANIZATION, Order.VALUE_11],
        field=[Field.USERNAME, Field.URL, Field.UUID],
    )
    assert [user.username for user in everyone] == sorted(wanted, reverse=True)
    assert {user.uuid for user in everyone} == {
        user.uuid for user in bulk if user.username in wanted
    }
    assert all(user.url.endswith(f"/api/users/{user.uuid.hex}/") for user in everyone)


async def test_count_with_filters_and_me_count(api: Any, factory: Factory) -> None:
    world = await team(factory)
    staff_client = api(await factory.token(world["staff"]))
    assert await users_count.asyncio(client=staff_client) == 8
    assert (
        await users_count.asyncio(
            client=staff_client,
            customer_uuid=world["customer"].uuid,
            job_title="engineer",
            is_active=True,
            o=[Order.VALUE_11],
        )
        == 4  # alice, bob, carol, old
    )
    assert await users_count.asyncio(client=staff_client, is_staff=True) == 1
    assert await users_count.asyncio(client=staff_client, username_list="alice, dave,nobody") == 2

    member_client = api(await factory.token(world["alice"]))
    # A normal user sees the active colleagues of the customer and may not filter on is_staff.
    assert await users_count.asyncio(client=member_client) == 5
    assert await users_count.asyncio(client=member_client, is_staff=False) == 0
    assert await users_me_count.asyncio(client=member_client) == 1


async def test_every_other_filter_the_client_sends(api: Any, factory: Factory) -> None:
    """The filters not used above, each as the client encodes it, all in one request."""
    staff = await factory.user("staff", is_staff=True)
    customer = await factory.customer()
    project = await factory.project(customer)
    agreed = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    shared = dict(
        native_name="Fransua",
        phone_number="+372 5555",
        description="pilot",
        registration_method="default",
        agreement_date=agreed,
    )
    target = await factory.user(
        "francois", first_name="Fran\u00e7ois", last_name="J\u00fcrim\u00e4e",
        civil_number="EE123", **shared,
    )  # fmt: skip
    twin = await factory.user("twin", first_name="Francois", last_name="Jurimae", **shared)
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    for member in (target, twin):
        await factory.grant(
            member, "PROJECT.MANAGER", project, created_by=staff, expiration_time=expires
        )
    client = api(await factory.token(staff))
    found = await users_list.asyncio(
        client=client,
        full_name="Francois Jurimae",  # accents folded away (docs/rest.md#filters)
        user_keyword="jurimae",
        native_name="fransu",
        phone_number="+372 5555",
        civil_number="EE123",
        description="pilot",
        email="francois@",
        registration_method="default",
        project_uuid=project.uuid,
        project_roles="PROJECT.MANAGER",
        organization_roles="PROJECT.MANAGER",
        agreement_date=agreed - timedelta(hours=1),
        modified=datetime.now(UTC) - timedelta(hours=1),
    )
    assert [user.username for user in found] == ["francois"]
    assert found[0].civil_number == "EE123" and found[0].agreement_date == agreed
    assert [permission.role_name for permission in found[0].permissions] == ["PROJECT.MANAGER"]
    (permission,) = found[0].permissions
    assert (permission.scope_uuid, permission.user_uuid) == (project.uuid, target.uuid)
    assert (permission.customer_uuid, permission.created_by_username) == (customer.uuid, "staff")
    assert permission.expiration_time == expires and permission.scope_type == "project"

    agreed_later = await users_list.asyncio(
        client=client, username_list="francois,twin", agreement_date=agreed + timedelta(seconds=1)
    )
    assert agreed_later == []  # the date filters mean "on or after"
