"""Page-number pagination primitives (docs/rest.md#pagination)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import NotFound
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import list_users_page
from gql_users.accounts.pagination import (
    MAX_PAGE_SIZE,
    Page,
    PageLinks,
    PageRequest,
    count_pages,
    page_links,
)
from gql_users.db.engine import count_sql
from tests.conftest import Factory

totals = st.integers(min_value=0, max_value=5000)
sizes = st.integers(min_value=1, max_value=MAX_PAGE_SIZE)

# --- resolving -------------------------------------------------------------------------------


def test_an_empty_result_still_has_page_one() -> None:
    page = PageRequest().resolve(0)
    assert (page.number, page.num_pages, page.offset, page.total) == (1, 1, 0, 0)
    assert PageRequest(page="last").resolve(0).number == 1


@pytest.mark.parametrize(("page", "total"), [(0, 10), (-1, 10), (2, 10), (3, 11), (2, 0)])
def test_out_of_range_pages_are_invalid(page: int, total: int) -> None:
    with pytest.raises(NotFound) as raised:
        PageRequest(page=page, size=10).resolve(total)
    assert raised.value.detail == "Invalid page."


@given(totals, sizes)
def test_the_pages_partition_the_result(total: int, size: int) -> None:
    """Every item is on exactly one page, and only the last page may be short."""
    num_pages = count_pages(total, size)
    covered: list[int] = []
    for number in range(1, num_pages + 1):
        page = PageRequest(page=number, size=size).resolve(total)
        assert page.num_pages == num_pages
        items = range(page.offset, min(page.offset + page.limit, total))
        if number < num_pages:
            assert len(items) == size
        covered.extend(items)
    assert covered == list(range(total))
    assert num_pages >= 1
    assert total == 0 or (num_pages - 1) * size < total <= num_pages * size


@given(totals, sizes)
def test_last_is_the_final_page_and_one_past_it_is_invalid(total: int, size: int) -> None:
    last = PageRequest(page="last", size=size).resolve(total)
    assert last.number == last.num_pages == count_pages(total, size)
    with pytest.raises(NotFound):
        PageRequest(page=last.num_pages + 1, size=size).resolve(total)


@given(totals, sizes, st.data())
def test_links_point_to_neighbouring_pages(total: int, size: int, data: st.DataObject) -> None:
    num_pages = count_pages(total, size)
    number = data.draw(st.integers(min_value=1, max_value=num_pages))
    page = PageRequest(page=number, size=size).resolve(total)
    links = page_links(page)
    assert links.first == 1
    assert links.last == num_pages
    assert links.prev == (number - 1 if number > 1 else None)
    assert links.next == (number + 1 if number < num_pages else None)


def test_links_of_a_middle_page() -> None:
    page = Page(number=2, size=10, num_pages=3, total=25)
    assert page_links(page) == PageLinks(first=1, prev=1, next=3, last=3)
    assert page_links(Page(number=1, size=10, num_pages=1, total=0)) == PageLinks(1, None, None, 1)


# --- with the database -----------------------------------------------------------------------


@pytest.fixture
async def staff(factory: Factory) -> Caller:
    staff = Caller(user=await factory.user("admin", is_staff=True))
    for index in range(11):
        await factory.user(f"user{index:02d}")
    return staff


async def test_list_users_page_last_page(session: AsyncSession, staff: Caller) -> None:
    with count_sql() as counter:
        users, page = await list_users_page(
            session, staff, UserFilter(), [], PageRequest(page="last", size=5)
        )
    assert counter.count == 2
    assert (page.number, page.num_pages, page.total) == (3, 3, 12)
    assert [user.username for user in users] == ["user09", "user10"]  # after "admin"


async def test_a_numbered_page_brings_its_total_in_one_statement(
    session: AsyncSession, staff: Caller
) -> None:
    with count_sql() as counter:
        users, page = await list_users_page(
            session, staff, UserFilter(), [], PageRequest(page=2, size=5)
        )
    assert counter.count == 1
    assert (page.number, page.num_pages, page.total) == (2, 3, 12)
    assert [user.username for user in users] == [f"user{n:02}" for n in range(4, 9)]


@pytest.mark.parametrize("number", [4, 0, -1])
async def test_list_users_page_out_of_range_is_not_found(
    session: AsyncSession, staff: Caller, number: int
) -> None:
    with count_sql() as counter, pytest.raises(NotFound) as raised:
        await list_users_page(session, staff, UserFilter(), [], PageRequest(page=number, size=5))
    assert raised.value.detail == "Invalid page."
    assert counter.count <= 1


async def test_list_users_page_with_no_results(session: AsyncSession, staff: Caller) -> None:
    users, page = await list_users_page(
        session, staff, UserFilter(username="nobody"), [], PageRequest()
    )
    assert users == []
    assert (page.number, page.num_pages, page.total) == (1, 1, 0)
