"""REST pages walk the list from its nearer end (docs/architecture.md#deep-pages): every page,
from the front half or the back, holds exactly the rows of that stretch of the sorted list."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import NotFound
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import filtered_users, list_users_page
from gql_users.accounts.ordering import OrderKey, order_by_clauses
from gql_users.accounts.pagination import LAST_PAGE, PageRequest
from gql_users.db.models import User
from tests.world import World

ORDERINGS = [
    [],
    [OrderKey("username", descending=True)],
    [OrderKey("full_name")],
    [OrderKey("is_active"), OrderKey("email", descending=True)],
    [OrderKey("organization", descending=True)],  # no index: sorted, from either end
]


@pytest.mark.parametrize("ordering", ORDERINGS, ids=lambda keys: ",".join(map(str, keys)))
@pytest.mark.parametrize("caller_name", ["staff", "owner_a"])
async def test_every_page_is_its_stretch_of_the_sorted_list(
    session: AsyncSession, world: World, ordering: list[OrderKey], caller_name: str
) -> None:
    caller = Caller(user=world.user(caller_name))
    listed = filtered_users(caller, UserFilter()).with_only_columns(User.username)
    everyone = list(await session.scalars(listed.order_by(*order_by_clauses(ordering))))
    assert len(everyone) >= 5, everyone
    for size in (2, 3, len(everyone) - 1):
        pages = -(-len(everyone) // size)
        for number in range(1, pages + 1):
            request = PageRequest(page=number, size=size)
            rows, page = await list_users_page(session, caller, UserFilter(), ordering, request)
            expected = everyone[(number - 1) * size : number * size]
            assert [row.username for row in rows] == expected, (size, number)
            assert page.total == len(everyone)
        last, _ = await list_users_page(
            session, caller, UserFilter(), ordering, PageRequest(page=LAST_PAGE, size=size)
        )
        assert [row.username for row in last] == everyone[(pages - 1) * size :], size
        with pytest.raises(NotFound):
            await list_users_page(
                session, caller, UserFilter(), ordering, PageRequest(page=pages + 1, size=size)
            )
