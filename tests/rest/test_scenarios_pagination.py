"""Pagination of the user list (docs/rest.md#pagination,
docs/api-differences.md#commas-in-link-urls) and the identity manager's refusal
(docs/visibility.md#listing-users).

No Waldur test covers these, so the scenarios are named after the
behaviour. Link URLs keep the request's parameters in their order and put ``page`` last.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert

from gql_users.db.models import User
from tests.conftest import Factory
from tests.rest.scenario_helpers import json_of

LIST = "/api/users/"
BASE = "http://testserver/api/users/"


@pytest.fixture
async def staff_headers(factory: Factory) -> dict[str, str]:
    """A staff caller (``aaa_staff``, first by username) and 24 more users: 25 in all."""
    staff = await factory.user("aaa_staff", is_staff=True)
    await factory.session.execute(
        insert(User),
        [
            {"username": f"user{number:02d}", "email": f"u{number}@example.com"}
            for number in range(24)
        ],
    )
    await factory.session.commit()
    return await factory.auth(staff)


def links(response: Any) -> dict[str, str]:
    """``Link`` as {rel: url}, split the way the generated client splits it (on commas)."""
    found: dict[str, str] = {}
    for part in response.headers["Link"].split(","):
        url, rel = part.strip().split("; ")
        found[rel.removeprefix('rel="').removesuffix('"')] = url.strip("<>")
    return found


async def page(client: Any, headers: dict[str, str], query: str) -> tuple[Any, list[str]]:
    response = await client.get(f"{LIST}?{query}" if query else LIST, headers=headers)
    assert response.status == 200, await response.text()
    return response, [user["username"] for user in await json_of(response)]


async def test_first_page_has_ten_items_and_first_next_last_links(
    client: Any, staff_headers: dict[str, str]
) -> None:
    response, names = await page(client, staff_headers, "")
    assert names == ["aaa_staff"] + [f"user{number:02d}" for number in range(9)]
    assert response.headers["X-Result-Count"] == "25"
    assert response.headers["Link"] == (
        f'<{BASE}>; rel="first", <{BASE}?page=2>; rel="next", <{BASE}?page=3>; rel="last"'
    )


async def test_middle_page_links_previous_without_page_for_page_one(
    client: Any, staff_headers: dict[str, str]
) -> None:
    response, names = await page(client, staff_headers, "page=2")
    assert names == [f"user{number:02d}" for number in range(9, 19)]
    assert links(response) == {
        "first": BASE,
        "prev": BASE,
        "next": f"{BASE}?page=3",
        "last": f"{BASE}?page=3",
    }


async def test_page_last_is_the_last_page(client: Any, staff_headers: dict[str, str]) -> None:
    response, names = await page(client, staff_headers, "page=last")
    assert names == [f"user{number:02d}" for number in range(19, 24)]
    assert links(response) == {"first": BASE, "prev": f"{BASE}?page=2", "last": f"{BASE}?page=3"}


@pytest.mark.parametrize("value", ["4", "0", "-1", "abc", "", "1.5"])
async def test_invalid_page_is_404(client: Any, staff_headers: dict[str, str], value: str) -> None:
    response = await client.get(f"{LIST}?page={value}", headers=staff_headers)
    assert response.status == 404
    assert await json_of(response) == {"detail": "Invalid page."}


@pytest.mark.parametrize("value", ["0", "-5", "abc", ""])
async def test_unusable_page_size_falls_back_to_ten(
    client: Any, staff_headers: dict[str, str], value: str
) -> None:
    _response, names = await page(client, staff_headers, f"page_size={value}")
    assert len(names) == 10


async def test_page_size_is_honoured_and_kept_in_links(
    client: Any, staff_headers: dict[str, str]
) -> None:
    response, names = await page(client, staff_headers, "page_size=7&page=2")
    assert len(names) == 7
    assert links(response) == {
        "first": f"{BASE}?page_size=7",
        "prev": f"{BASE}?page_size=7",
        "next": f"{BASE}?page_size=7&page=3",
        "last": f"{BASE}?page_size=7&page=4",
    }


async def test_page_size_above_300_is_cut_to_300(client: Any, factory: Factory) -> None:
    staff = await factory.user("aaa_staff", is_staff=True)
    await factory.session.execute(
        insert(User), [{"username": f"bulk{number:03d}"} for number in range(305)]
    )
    await factory.session.commit()
    response, names = await page(client, await factory.auth(staff), "page_size=1000")
    assert len(names) == 300
    assert response.headers["X-Result-Count"] == "306"
    assert links(response)["next"] == f"{BASE}?page_size=1000&page=2"


async def test_commas_in_link_urls_are_percent_encoded(
    client: Any, staff_headers: dict[str, str]
) -> None:
    """docs/api-differences.md#commas-in-link-urls: the generated client splits ``Link`` on
    commas."""
    response, _names = await page(
        client, staff_headers, "o=-username,email&field=username&field=url"
    )
    header = response.headers["Link"]
    assert header.count(",") == 2  # three links, no comma inside any URL
    assert links(response)["next"] == (
        f"{BASE}?o=-username%2Cemail&field=username&field=url&page=2"
    )


async def test_no_results_gives_first_and_last_without_page(
    client: Any, staff_headers: dict[str, str]
) -> None:
    response, names = await page(client, staff_headers, "username=nobody")
    assert names == []
    assert response.headers["X-Result-Count"] == "0"
    url = f"{BASE}?username=nobody"
    assert response.headers["Link"] == f'<{url}>; rel="first", <{url}>; rel="last"'


async def test_head_counts_without_a_body(client: Any, staff_headers: dict[str, str]) -> None:
    response = await client.head(
        f"{LIST}?username_list=user01,user02,nobody", headers=staff_headers
    )
    assert response.status == 200
    assert response.headers["X-Result-Count"] == "2"
    assert await response.read() == b""


async def test_head_me_counts_one(client: Any, staff_headers: dict[str, str]) -> None:
    response = await client.head("/api/users/me/", headers=staff_headers)
    assert response.status == 200 and response.headers["X-Result-Count"] == "1"


async def test_identity_manager_cannot_list_users_and_gets_a_bare_json_string(
    client: Any, factory: Factory
) -> None:
    manager = await factory.user("manager", is_identity_manager=True)
    headers = await factory.auth(manager)
    response = await client.get(LIST, headers=headers)
    assert response.status == 403
    assert await json_of(response) == "Identity manager is not allowed to list users."
    assert (await client.head(LIST, headers=headers)).status == 403
    # retrieving (himself here) is still allowed
    me = await client.get(f"{LIST}{manager.uuid.hex}/", headers=headers)
    assert me.status == 200


async def test_identity_manager_who_is_also_support_may_list(client: Any, factory: Factory) -> None:
    manager = await factory.user("manager", is_identity_manager=True, is_support=True)
    response = await client.get(LIST, headers=await factory.auth(manager))
    assert response.status == 200
