"""Keyset pagination of ``users``: walking a long list in both directions, under every
ordering, with many ties; and the paging arguments' edge cases."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.ordering import ORDERING_FIELDS, OrderKey, order_by_clauses
from gql_users.db.models import User, new_uuid
from resolvers.users.queries import DEFAULT_PAGE_SIZE
from tests.conftest import Factory
from tests.graphql.conftest import GraphQLClient

BULK_USERS = 1000
PAGE = 37

WALK = """
query Walk($orderBy: [UserOrder!], $first: Int, $after: String, $last: Int, $before: String) {
  users(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { uuid } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def insert_bulk_users(session: AsyncSession, count: int) -> None:
    """Users whose sortable values come from tiny sets, so almost every value ties; inserted
    with one executemany."""
    rng = random.Random(20240601)
    rows = [
        {
            "uuid": new_uuid(),
            "username": f"bulk{number:04d}",
            "first_name": rng.choice(["Ann", "Bob", "Émile", "Zoë", ""]),
            "last_name": rng.choice(["Smith", "Jones", ""]),
            "native_name": rng.choice(["", "Анна", "Ben"]),
            "email": rng.choice(["a@example.com", "B@example.com", ""]),
            "phone_number": rng.choice(["", "+3725551234"]),
            "description": rng.choice(["", "x", "X"]),
            "organization": rng.choice(["Org", "org", "Örg", ""]),
            "job_title": rng.choice(["", "Dev"]),
            "registration_method": rng.choice(["default", "eduteams"]),
            "is_active": rng.random() < 0.8,
            "is_staff": rng.random() < 0.1,
            "is_support": rng.random() < 0.1,
        }
        for number in range(count)
    ]
    await session.execute(insert(User), rows)
    await session.commit()


async def expected_order(session: AsyncSession, caller: Caller, keys: list[OrderKey]) -> list[str]:
    """The whole list in the core's (REST's) order: what the cursor walk must reproduce."""
    statement = select(User.uuid).order_by(*order_by_clauses(keys))
    assert caller.is_staff  # staff see everyone, so no visibility condition is needed here
    return [uuid.hex for uuid in (await session.scalars(statement)).all()]


ORDERINGS: list[list[dict[str, str]]] = [
    [],
    *[[{"field": name.upper(), "direction": "ASC"}] for name in ORDERING_FIELDS],
    *[[{"field": name.upper(), "direction": "DESC"}] for name in ORDERING_FIELDS],
    [
        {"field": "IS_ACTIVE", "direction": "DESC"},
        {"field": "ORGANIZATION"},
        {"field": "FULL_NAME", "direction": "DESC"},
    ],
    [{"field": "IS_STAFF"}, {"field": "EMAIL", "direction": "DESC"}, {"field": "IS_SUPPORT"}],
]


def ordering_id(order: list[dict[str, str]]) -> str:
    return (
        ",".join(f"{'-' if o.get('direction') == 'DESC' else ''}{o['field']}" for o in order)
        or "default"
    )


@pytest.mark.parametrize("order", ORDERINGS, ids=ordering_id)
async def test_walking_forward_and_backward_covers_every_user_once(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, order: list[dict[str, str]]
) -> None:
    staff = await factory.user("walker", is_staff=True)
    headers = await factory.auth(staff)
    await insert_bulk_users(session, BULK_USERS)
    keys = [OrderKey(o["field"].lower(), o.get("direction") == "DESC") for o in order]
    expected = await expected_order(session, Caller(user=staff), keys)
    assert len(expected) == BULK_USERS + 1

    forward: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gql.ok(
            WALK, {"orderBy": order, "first": PAGE, "after": after}, headers=headers
        )
        page = data["users"]
        forward += [edge["node"]["uuid"] for edge in page["edges"]]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        pages += 1
        if not info["hasNextPage"]:
            break
        assert len(page["edges"]) == PAGE
        after = info["endCursor"]
    assert pages == -(-len(expected) // PAGE)
    assert forward == expected  # same order, so no duplicate and no gap

    backward: list[str] = []
    before = None
    while True:
        data = await gql.ok(
            WALK, {"orderBy": order, "last": PAGE, "before": before}, headers=headers
        )
        page = data["users"]
        backward = [edge["node"]["uuid"] for edge in page["edges"]] + backward
        info = page["pageInfo"]
        assert info["hasNextPage"] is (before is not None)
        if not info["hasPreviousPage"]:
            break
        assert len(page["edges"]) == PAGE
        before = info["startCursor"]
    assert backward == expected


async def walk_page(gql: GraphQLClient, headers: dict[str, str], **variables: Any) -> Any:
    return await gql(WALK, variables, headers=headers)


async def test_paging_arguments(
    gql: GraphQLClient, factory: Factory, session: AsyncSession, settings: Any
) -> None:
    staff = await factory.user("pager", is_staff=True)
    headers = await factory.auth(staff)
    await insert_bulk_users(session, 150)

    default = await walk_page(gql, headers)
    assert len(default.data["users"]["edges"]) == DEFAULT_PAGE_SIZE

    capped = await walk_page(gql, headers, first=10_000)
    assert len(capped.data["users"]["edges"]) == settings.graphql_max_page_size

    first_ten = await walk_page(gql, headers, first=10)
    cursors = [edge["cursor"] for edge in first_ten.data["users"]["edges"]]
    uuids = [edge["node"]["uuid"] for edge in first_ten.data["users"]["edges"]]
    # A window between two cursors, from either end.
    between = await walk_page(gql, headers, first=100, after=cursors[2], before=cursors[7])
    assert [e["node"]["uuid"] for e in between.data["users"]["edges"]] == uuids[3:7]
    tail = await walk_page(gql, headers, last=2, after=cursors[2], before=cursors[7])
    assert [e["node"]["uuid"] for e in tail.data["users"]["edges"]] == uuids[5:7]

    offset = await gql(
        "query($after: String) { users(first: 3, after: $after, offset: 2) "
        "{ edges { node { uuid } } pageInfo { hasPreviousPage } } }",
        {"after": cursors[0]},
        headers=headers,
    )
    assert [e["node"]["uuid"] for e in offset.data["users"]["edges"]] == uuids[3:6]
    assert offset.data["users"]["pageInfo"]["hasPreviousPage"] is True

    empty = await walk_page(gql, headers, first=0)
    assert empty.data["users"]["edges"] == []
    assert empty.data["users"]["pageInfo"]["startCursor"] is None


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 1, "last": 1}, "Pass either first or last, not both."),
        ({"first": -1}, "first must not be negative."),
        ({"after": "not a cursor"}, "Invalid cursor"),
        ({"after": "eyJvIjoidXNlcm5hbWUsaWQiLCJwIjpbMV19"}, "Invalid cursor"),
    ],
)
async def test_bad_paging_arguments_are_bad_requests(
    gql: GraphQLClient, factory: Factory, variables: dict[str, Any], message: str
) -> None:
    staff = await factory.user("pager", is_staff=True)
    response = await walk_page(gql, await factory.auth(staff), **variables)
    assert response.codes == ["BAD_REQUEST"]
    assert response.errors[0]["message"].startswith(message)


async def test_a_cursor_from_another_ordering_is_refused(
    gql: GraphQLClient, factory: Factory
) -> None:
    staff = await factory.user("pager", is_staff=True)
    headers = await factory.auth(staff)
    await factory.user("other")
    first = await walk_page(gql, headers, first=1)
    cursor = first.data["users"]["pageInfo"]["endCursor"]
    response = await walk_page(
        gql, headers, first=1, after=cursor, orderBy=[{"field": "EMAIL", "direction": "DESC"}]
    )
    assert response.codes == ["BAD_REQUEST"]
    message = response.errors[0]["message"]
    assert "another ordering (username,id)" in message and "(-email,id)" in message


async def test_cursors_do_not_carry_internal_ids(gql: GraphQLClient, factory: Factory) -> None:
    import base64
    import json

    staff = await factory.user("pager", is_staff=True)
    page = await walk_page(gql, await factory.auth(staff), first=1)
    cursor = page.data["users"]["edges"][0]["cursor"]
    text, _, _mac = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    assert payload == {"o": "username,id", "p": ["pager", staff.uuid.hex]}
