"""The REST read path's shortcuts give what the general path gives: a page statement built once
per caller kind serves every caller of that kind with their own users; bodies rendered from
rows of the users table, through renders decided once per field, equal bodies rendered from
``User`` objects entry by entry; read sessions skip the transaction on PostgreSQL only."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import list_users_page, page_rows_statement
from gql_users.accounts.ordering import OrderKey
from gql_users.accounts.pagination import PageRequest
from gql_users.accounts.user_details import load_user_details_by_id
from gql_users.accounts.user_fields import FIELD_BY_NAME, USER_FIELD_TABLE
from gql_users.accounts.wire import render_datetime
from gql_users.db.engine import create_read_sessionmaker
from gql_users.db.models import User
from gql_users.rest.representation import (
    field_render,
    render_user,
    render_users,
    wire_row_render,
)
from gql_users.settings import Settings
from tests.conftest import BACKEND, Factory
from tests.world import VISIBLE_TO, World

EVERY_ROW = PageRequest(page=1, size=300)


async def test_one_page_statement_serves_each_caller_of_a_kind_their_own_users(
    session: AsyncSession, world: World
) -> None:
    """The statement is shared by all non-privileged callers (their id is a parameter), yet
    each sees exactly their ``VISIBLE_TO``; staff and support share the other one."""
    shapes = {}
    seen = {}
    for name in VISIBLE_TO:
        if name == "identity_manager":  # may not list
            continue
        caller = Caller(user=world.user(name))
        shapes[name] = page_rows_statement(caller, UserFilter(), [], BACKEND)
        rows, page = await list_users_page(session, caller, UserFilter(), [], EVERY_ROW)
        seen[name] = sorted(row.username for row in rows)
        assert page.total == len(rows), name
    assert seen == {name: users for name, users in VISIBLE_TO.items() if name in seen}
    assert shapes["owner_a"] is shapes["member_b1"] is shapes["loner"]
    assert shapes["staff"] is shapes["support"] is not shapes["owner_a"]


async def test_cached_statements_keep_filters_orderings_and_pages_apart(
    session: AsyncSession, world: World
) -> None:
    staff = Caller(user=world.staff)
    only_owners = UserFilter(username_list=("owner_a", "owner_b"))
    newest_first = [OrderKey("username", descending=True)]
    rows, _ = await list_users_page(session, staff, only_owners, newest_first, EVERY_ROW)
    assert [row.username for row in rows] == ["owner_b", "owner_a"]
    rows, _ = await list_users_page(session, staff, only_owners, [], EVERY_ROW)
    assert [row.username for row in rows] == ["owner_a", "owner_b"]
    second, page = await list_users_page(session, staff, only_owners, [], PageRequest(2, 1))
    assert [row.username for row in second] == ["owner_b"] and page.total == 2


@pytest.mark.parametrize(
    "fields",
    [
        {  # microseconds, a birth date, an image
            "birth_date": date(1815, 12, 10),
            "agreement_date": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            "affiliations": ["staff@example.org"],
            "image": "ada.png",
        },
        {  # whole seconds (written without a fraction), no birth date, no agreement
            "date_joined": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            "agreement_date": None,
        },
    ],
)
async def test_a_row_renders_as_its_user_does_field_by_field(
    session: AsyncSession, factory: Factory, settings: Settings, fields: dict[str, Any]
) -> None:
    """Every entry's render, over the user's row (its uuid, datetimes and dates loaded in their
    wire form) and over the ``User``, equals the entry's own ``render``; so do whole bodies,
    for the user themselves and for a staff caller."""
    ada = await factory.user(
        "ada", first_name="Ada", last_name="Lovelace ", token_lifetime=7200, **fields
    )
    await factory.grant(ada, "CUSTOMER.OWNER", await factory.customer())
    await factory.token(ada)
    staff = await factory.user("root", is_staff=True)
    user = ada
    rows, _ = await list_users_page(
        session, Caller(user=staff), UserFilter(username="ada"), [], EVERY_ROW
    )
    [row] = rows
    assert isinstance(row.uuid, str) and isinstance(row.date_joined, str)
    details = await load_user_details_by_id(session, [ada.id])
    for entry in USER_FIELD_TABLE:
        expected = entry.render(settings, user, details[ada.id])
        assert wire_row_render(entry)(row, settings, details[ada.id]) == expected, entry.name
        assert field_render(entry)(user, settings, details[ada.id]) == expected, entry.name
    for caller in (Caller(user=user), Caller(user=staff)):
        from_row = render_users(settings, caller, rows, details, items_on_page=1, wire_rows=True)
        assert from_row == [render_user(settings, caller, user, details[ada.id], items_on_page=1)]
    assert from_row[0]["full_name"] == "Ada Lovelace"
    assert set(FIELD_BY_NAME) >= set(from_row[0])


async def test_read_sessions_skip_the_transaction_on_postgresql_only(
    engine: AsyncEngine, factory: Factory
) -> None:
    """No BEGIN or ROLLBACK round trips around a read on PostgreSQL, whose READ COMMITTED gives
    each statement its own snapshot anyway; a write made in a read session (the sliding
    refresh of a token) is still kept."""
    user = await factory.user("reader")
    async with create_read_sessionmaker(engine)() as session:
        connection = await session.connection()
        options = connection.sync_connection.get_execution_options()
        autocommit = options.get("isolation_level") == "AUTOCOMMIT"
        assert autocommit is (engine.dialect.name == "postgresql")
        found = await session.get(User, user.id)
        assert found is not None
        found.job_title = "reader of pages"
        await session.commit()
    async with create_read_sessionmaker(engine)() as session:
        again = await session.get(User, user.id)
        assert again is not None and again.job_title == "reader of pages"


async def test_a_cached_page_statement_sees_a_grant_expire(
    session: AsyncSession, factory: Factory
) -> None:
    """The cached statement holds no time of its own: a colleague whose only grant expires
    drops out of the same caller's next page (docs/visibility.md#current-roles)."""
    customer = await factory.customer("Cached")
    owner = await factory.user("cached_owner")
    colleague = await factory.user("cached_colleague")
    await factory.grant(owner, "CUSTOMER.OWNER", customer)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    await factory.grant(colleague, "CUSTOMER.SUPPORT", customer, expiration_time=soon)
    caller = Caller(user=owner)
    statement = page_rows_statement(caller, UserFilter(), [], BACKEND)
    rows, _ = await list_users_page(session, caller, UserFilter(), [], EVERY_ROW)
    assert {row.username for row in rows} == {"cached_owner", "cached_colleague"}
    await asyncio.sleep(1.2)
    rows, _ = await list_users_page(session, caller, UserFilter(), [], EVERY_ROW)
    assert {row.username for row in rows} == {"cached_owner"}
    assert page_rows_statement(caller, UserFilter(), [], BACKEND) is statement


@pytest.mark.skipif(BACKEND != "sqlite", reason="the text SQLite stores")
@pytest.mark.parametrize(
    ("stored", "wire"),
    [
        ("2024-01-02 03:04:05.000006", "2024-01-02T03:04:05.000006Z"),
        ("2024-01-02 03:04:05.000000", "2024-01-02T03:04:05Z"),
        ("2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),  # as CURRENT_TIMESTAMP writes it
        ("2024-01-02T03:04:05.5", "2024-01-02T03:04:05.500000Z"),
        # as long as SQLAlchemy's form, but with an offset: converted, not sliced
        ("2024-01-02 03:04:05.123+02", "2024-01-02T01:04:05.123000Z"),
        ("2024-01-02 03:04:05.12345Z", "2024-01-02T03:04:05.123450Z"),
    ],
)
async def test_a_datetime_sqlite_holds_is_written_as_its_user_shows_it(
    session: AsyncSession, factory: Factory, stored: str, wire: str
) -> None:
    """The list reads SQLite's datetime text as it is stored, in whatever form it was written,
    and writes it as the ``User`` loaded from the same row would be."""
    staff = await factory.user("root", is_staff=True)
    await session.execute(
        text("UPDATE users SET date_joined = :stored WHERE id = :id"),
        {"stored": stored, "id": staff.id},
    )
    await session.commit()
    await session.refresh(staff)  # the User as loaded from the stored text
    rows, _ = await list_users_page(
        session, Caller(user=staff), UserFilter(username="root"), [], EVERY_ROW
    )
    assert rows[0].date_joined == wire == render_datetime(staff.date_joined)
