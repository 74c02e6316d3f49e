"""The ``o`` ordering (docs/rest.md#ordering, docs/api-differences.md#repeated-o-keys-all-apply) on
both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import list_users
from gql_users.accounts.ordering import (
    ORDERING_FIELDS,
    OrderKey,
    SortColumn,
    order_by_clauses,
    sort_columns,
)
from gql_users.db.models import User
from gql_users.rest.query import ordering_from_query
from tests.accounts.read_world import usernames_for
from tests.conftest import Factory

# --- keys and columns ------------------------------------------------------------------------


def test_no_keys_means_username_then_the_tiebreaker() -> None:
    assert sort_columns([]) == [SortColumn("username"), SortColumn("id")]


def test_every_key_exposes_its_columns_and_direction() -> None:
    assert OrderKey("full_name", True).sort_columns == (
        SortColumn("first_name", True),
        SortColumn("last_name", True),
    )
    assert str(OrderKey("full_name", True)) == "-full_name"
    columns = sort_columns([OrderKey("is_staff", True), OrderKey("email")])
    assert [(c.attribute, c.descending) for c in columns] == [
        ("is_staff", True),
        ("email", False),
        ("id", False),
    ]


def test_the_tiebreaker_ends_every_ordering_once() -> None:
    columns = sort_columns([OrderKey("username"), OrderKey("username", True)])
    assert columns == [SortColumn("username"), SortColumn("id")]
    assert len(order_by_clauses([OrderKey("full_name")])) == 3


def test_an_order_key_must_be_an_allowed_name() -> None:
    with pytest.raises(ValueError):
        OrderKey("password")


# --- sorting in the database -----------------------------------------------------------------

# Three users whose values put them in a different order for every key (ascending order given).
ROWS = {
    "u_b": dict(
        first_name="Bea",
        last_name="Zed",
        native_name="b",
        email="c@x",
        phone_number="2",
        description="c",
        organization="a",
        job_title="b",
        registration_method="b",
    ),
    "u_c": dict(
        first_name="Bea",
        last_name="Abe",
        native_name="c",
        email="a@x",
        phone_number="3",
        description="b",
        organization="c",
        job_title="a",
        registration_method="c",
    ),
    "u_a": dict(
        first_name="Cid",
        last_name="Abe",
        native_name="a",
        email="b@x",
        phone_number="1",
        description="a",
        organization="b",
        job_title="c",
        registration_method="a",
    ),
}
ASCENDING = {
    "full_name": ["u_c", "u_b", "u_a"],
    "native_name": ["u_a", "u_b", "u_c"],
    "email": ["u_c", "u_a", "u_b"],
    "phone_number": ["u_a", "u_b", "u_c"],
    "description": ["u_a", "u_c", "u_b"],
    "organization": ["u_b", "u_a", "u_c"],
    "job_title": ["u_c", "u_b", "u_a"],
    "username": ["u_a", "u_b", "u_c"],
    "registration_method": ["u_a", "u_b", "u_c"],
}
ONLY_ROWS = UserFilter(username_list=tuple(ROWS))


@pytest.fixture
async def staff(factory: Factory) -> Caller:
    staff = Caller(user=await factory.user("admin", is_staff=True))
    for username, fields in ROWS.items():
        await factory.user(username, **fields)
    return staff


def test_every_allowed_name_is_covered() -> None:
    assert set(ASCENDING) | {"is_active", "is_staff", "is_support"} == set(ORDERING_FIELDS)


@pytest.mark.parametrize("name", sorted(ASCENDING))
async def test_each_text_key_ascending_and_descending(
    session: AsyncSession, staff: Caller, name: str
) -> None:
    ascending = await usernames_for(session, staff, ONLY_ROWS, ordering_from_query([name]))
    descending = await usernames_for(session, staff, ONLY_ROWS, ordering_from_query([f"-{name}"]))
    assert ascending == ASCENDING[name]
    assert descending == ASCENDING[name][::-1]


@pytest.mark.parametrize("flag", ["is_active", "is_staff", "is_support"])
async def test_each_boolean_key_sorts_false_first_ties_by_id(
    session: AsyncSession, factory: Factory, flag: str
) -> None:
    staff = Caller(user=await factory.user("admin", is_staff=True))
    for username, value in (("f1", False), ("t1", True), ("f2", False), ("t2", True)):
        await factory.user(username, **{flag: value})
    only = UserFilter(username_list=("f1", "t1", "f2", "t2"))
    assert await usernames_for(session, staff, only, ordering_from_query([flag])) == [
        "f1",
        "f2",
        "t1",
        "t2",
    ]
    assert await usernames_for(session, staff, only, ordering_from_query([f"-{flag}"])) == [
        "t1",
        "t2",
        "f1",
        "f2",
    ]


async def test_later_keys_break_ties_of_earlier_ones(session: AsyncSession, staff: Caller) -> None:
    """Every row is active and not support: the second key alone decides, CSV or repeated."""
    repeated = ordering_from_query(["is_active", "-email"])
    assert await usernames_for(session, staff, ONLY_ROWS, repeated) == ["u_b", "u_a", "u_c"]
    csv = ordering_from_query(["is_support,job_title"])
    assert await usernames_for(session, staff, ONLY_ROWS, csv) == ["u_c", "u_b", "u_a"]


async def test_default_ordering_is_username_ascending(session: AsyncSession, staff: Caller) -> None:
    users, total = await list_users(session, staff, ONLY_ROWS, [], offset=0, limit=10)
    assert [user.username for user in users] == ["u_a", "u_b", "u_c"]
    assert total == 3


async def test_strings_sort_by_code_point_on_every_backend(
    session: AsyncSession, factory: Factory
) -> None:
    """Upper case before lower case, accents after ASCII, punctuation not ignored: the same
    order on SQLite and PostgreSQL whatever the database locale."""
    staff = Caller(user=await factory.user("admin", is_staff=True))
    names = ["alice", "Bob", "Zoë", "Zoe", "a.b", "ab", "Émile"]
    for index, first_name in enumerate(names):
        await factory.user(f"cp{index}", first_name=first_name)
    only = UserFilter(username_list=tuple(f"cp{index}" for index in range(len(names))))
    found = await usernames_for(session, staff, only, ordering_from_query(["full_name"]))
    assert [names[int(username[2:])] for username in found] == sorted(names)


async def test_equal_values_page_deterministically(session: AsyncSession, factory: Factory) -> None:
    """Twelve users with one organisation: pages by offset cover each exactly once."""
    staff = Caller(user=await factory.user("admin", is_staff=True))
    for index in range(12):
        await factory.user(f"same{index:02d}", organization="Same")
    only = UserFilter(organization="Same")
    ordering = ordering_from_query(["organization"])
    seen: list[str] = []
    for offset in range(0, 12, 5):
        page, total = await list_users(session, staff, only, ordering, offset=offset, limit=5)
        assert total == 12
        seen += [user.username for user in page]
    assert len(seen) == len(set(seen)) == 12
    ids = [
        user.id
        for user in (await list_users(session, staff, only, ordering, offset=0, limit=12))[0]
    ]
    assert ids == sorted(ids)


def test_postgresql_compares_text_with_the_c_collation() -> None:
    """The test server's locale may already be C; this pins what production databases get."""
    statement = select(User.id).order_by(
        *order_by_clauses(ordering_from_query(["-email,is_staff"]))
    )
    on_pg = str(statement.compile(dialect=postgresql.dialect()))
    on_sqlite = str(statement.compile(dialect=sqlite.dialect()))
    assert 'ORDER BY users.email COLLATE "C" DESC, users.is_staff ASC, users.id ASC' in on_pg
    assert "ORDER BY users.email DESC, users.is_staff ASC, users.id ASC" in on_sqlite
