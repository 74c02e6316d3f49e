"""The database's plans for the list's deep pages and substring filters.

EXPLAIN (EXPLAIN QUERY PLAN on SQLite) of the statements the list builds shows that a keyset
cursor bounds the index scan, rather than being checked row by row, and that the substring
filters read the trigram indexes on PostgreSQL and the trigram search table on SQLite. The test
tables are tiny, on which a planner rightly prefers reading the whole table; the PostgreSQL tests
therefore ``SET enable_seqscan = off`` in their session, which leaves the planner's choice among
indexes (and whether a condition is an index bound or a filter) observable without 100,000 rows;
the keyset tests also turn off bitmap scans, so that the plan shows whether the ordered index
scan is bounded.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import ClauseElement, Executable, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter, filter_conditions
from gql_users.accounts.keyset import keyset_condition, position_of
from gql_users.accounts.listing import page_statement
from gql_users.accounts.ordering import OrderKey, SortColumn, sort_columns
from gql_users.db.models import POSTGRESQL_TRIGRAM_INDEXES, User
from gql_users.db.search import SEARCH_TABLE
from tests.conftest import BACKEND, Factory


class Explain(Executable, ClauseElement):
    """``EXPLAIN <statement>`` with the statement's bound parameters."""

    inherit_cache = False

    def __init__(self, statement: Executable) -> None:
        self.statement = statement


@compiles(Explain)
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN" if compiler.dialect.name == "sqlite" else "EXPLAIN"
    return f"{prefix} {compiler.process(element.statement, **kw)}"  # type: ignore[arg-type]


async def plan_of(session: AsyncSession, statement: Executable, *, ordered: bool = False) -> str:
    """The plan of ``statement``; ``ordered`` also turns off PostgreSQL's bitmap scans, which
    on a near-empty table it prefers to an ordered index scan followed by nothing (a bitmap
    scan loses the index order, so a deep page would need a sort)."""
    if BACKEND == "postgresql":
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        if ordered:
            await session.execute(text("SET LOCAL enable_bitmapscan = off"))
    rows = (await session.execute(Explain(statement))).all()
    # PostgreSQL: one text column per line; SQLite: (id, parent, notused, detail).
    return "\n".join(str(row[-1]) for row in rows)


def deep_page(keys: list[OrderKey]) -> Executable:
    """The next page after a position, as the GraphQL connection asks for it."""
    columns = sort_columns(keys)
    position = tuple(
        uuid.uuid4()
        if column.attribute == "id"
        else ("m" if column.attribute != "is_active" else True)
        for column in columns
    )
    return (
        select(User.id)
        .where(keyset_condition(columns, position, after=True))
        .order_by(*(column.clause for column in columns))
        .limit(11)
    )


PG = BACKEND == "postgresql"


@pytest.mark.parametrize(
    ("keys", "column", "index"),
    [
        ([], "username", "ix_users_username_c" if PG else r"sqlite_autoindex_users_\d+"),
        ([OrderKey("email")], "email", "ix_users_email_c" if PG else "ix_users_email"),
        (
            [OrderKey("full_name")],
            "first_name",
            "ix_users_full_name_c" if PG else "ix_users_first_name_last_name",
        ),
    ],
)
async def test_a_cursor_bounds_the_index_scan(
    session: AsyncSession, keys: list[OrderKey], column: str, index: str
) -> None:
    plan = await plan_of(session, deep_page(keys), ordered=True)
    if PG:
        assert re.search(rf"Index (Only )?Scan using {index}", plan), plan
        assert re.search(rf"Index Cond: \(ROW\(\(?{column}\b.*\) > ROW\(", plan), plan
        assert "Filter" not in plan, plan
        assert "Sort" not in plan, plan
    else:
        assert re.search(rf"SEARCH users USING (COVERING )?INDEX {index} \(.*{column}.*>", plan), (
            plan
        )
        assert "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("ordering", [[], [OrderKey("email")], [OrderKey("email", True)]])
async def test_a_deep_rest_page_skips_over_the_index_not_the_table(
    session: AsyncSession, ordering: list[OrderKey]
) -> None:
    """The ids of the page come from the ordering's index alone (an index-only scan: no table
    row is read for the rows the offset skips), walked forwards or backwards from whichever end
    of the list is nearer; only the page's rows are then fetched by id, and only they are
    sorted again: no sort of the whole list, whatever the direction of the ordering."""
    staff = Caller(User(is_staff=True))
    statement = page_statement(staff, UserFilter(), ordering, BACKEND, offset=3000, limit=10)
    plan = await plan_of(session, statement, ordered=True)
    index = "email" if ordering else "username"
    if PG:
        walks = re.findall(rf"Index Only Scan (Backward )?using ix_users_{index}_c on users", plan)
        assert sorted(walks) == ["", "Backward "], plan  # one walk from each end
        assert "Index Cond: (id = ANY (" in plan, plan  # the page's rows, by primary key
        # One sort, of the page's rows; "-email" ends on the ascending id, so an "Incremental
        # Sort" orders the ties of equal emails as the index yields them, not the whole list.
        assert len(re.findall(r"(?<!Incremental )Sort  \(", plan)) == 1, plan
        assert plan.startswith("Sort"), plan
    else:
        walks = re.findall(rf"SCAN users USING COVERING INDEX \S*({index}|autoindex)", plan)
        assert len(walks) == 2, plan
        assert plan.count("SEARCH users USING INTEGER PRIMARY KEY (rowid=?)") == 2, plan
        # each walk's rows, not the whole list (a "RIGHT PART" sorts only ties of equal emails)
        assert plan.count("USE TEMP B-TREE FOR ORDER BY") == 2, plan
    assert "Seq Scan" not in plan, plan


async def test_a_colleague_list_is_driven_by_the_callers_roles(session: AsyncSession) -> None:
    """A caller who is neither staff nor support sees themselves and the holders of roles in
    their customers and projects: the list (its total here) reads those roles by the indexes
    of their scopes and looks the few users up by id, rather than testing every user (and
    every role) against the visibility condition."""
    plain = Caller(User(id=1, is_staff=False))
    statement = page_statement(plain, UserFilter(), [], BACKEND, offset=0, limit=10)
    plan = await plan_of(session, statement)
    if PG:
        filters = [line for line in plan.splitlines() if "Filter:" in line]
        assert not [line for line in filters if "SubPlan" in line], plan  # no row tested
        for scope in ("customer", "project"):  # the colleagues' roles, by the scope's index
            assert re.search(rf"Index Cond: \({scope}_id = caller_role", plan), plan
    else:
        for scope in ("customer", "project"):
            assert f"ix_user_roles_{scope}_id_is_active" in plan, plan
        assert "SCAN user_roles" not in plan, plan
        assert not re.search(r"SCAN users\b(?! USING)", plan), plan


SCANS_USERS = r"^SCAN users( USING COVERING INDEX \w+)?$"
"""A SQLite plan line that reads every user (from the table or from one of its indexes)."""

SUBSTRING_FILTERS = [
    {"full_name": "ann"},
    {"email": "exa"},  # on an empty table, longer values cost more than reading a b-tree
    {"organization": "uni"},
    {"native_name": "ann"},
    {"job_title": "eng"},
    {"user_keyword": "ann"},
    {"query": "ann smith"},
    {"full_name": "ann", "email": "exa", "query": 'O"Neil AND *'},
]


@pytest.mark.parametrize("values", SUBSTRING_FILTERS)
async def test_substring_filters_read_the_trigram_indexes(
    session: AsyncSession, values: dict[str, object]
) -> None:
    """PostgreSQL reads the trigram indexes; SQLite reads its trigram search table (migration
    0007) and then fetches the users it found by id, never scanning the users table."""
    staff = Caller(User(is_staff=True))
    conditions = filter_conditions(UserFilter.from_values(values), staff)
    plan = await plan_of(session, select(User.id).where(*conditions))
    if PG:
        used = set(re.findall(r"ix_users_\w+_trgm", plan))
        assert used and used <= set(POSTGRESQL_TRIGRAM_INDEXES), plan
        assert "Seq Scan" not in plan, plan
    else:
        assert re.search(rf"^SCAN {SEARCH_TABLE} VIRTUAL TABLE INDEX \d+:M", plan, re.M), plan
        assert "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
        assert not re.search(SCANS_USERS, plan, re.M), plan


@pytest.mark.skipif(PG, reason="the search table exists on SQLite only")
@pytest.mark.parametrize(
    "values",
    [
        {"email": "ex"},
        {"query": "ann li"},  # the widening's second word is too short
        {"full_name": "Франсуа"},  # folded to ASCII, nothing is left to search for
    ],
)
async def test_substrings_too_short_for_a_trigram_scan_the_users(
    session: AsyncSession, values: dict[str, object]
) -> None:
    staff = Caller(User(is_staff=True))
    conditions = filter_conditions(UserFilter.from_values(values), staff)
    plan = await plan_of(session, select(User.id).where(*conditions))
    assert re.search(SCANS_USERS, plan, re.M), plan
    assert SEARCH_TABLE not in plan, plan


# --- the row-value form returns what the OR-chain does ----------------------------------------

NAMES = [("Ann", "Lee"), ("Ann", "Lee"), ("Ann", "Ng"), ("Zoë", "A"), ("ann", "B"), ("Bo", "Ng")]


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [OrderKey("full_name")],
        [OrderKey("is_active"), OrderKey("full_name")],
        [OrderKey("full_name", descending=True)],
        [OrderKey("is_active", descending=True), OrderKey("email")],
    ],
    ids=str,
)
async def test_keyset_pages_match_the_sorted_list(
    session: AsyncSession, factory: Factory, keys: list[OrderKey]
) -> None:
    """From every row of a list with ties and non-ASCII names, the rows after it (and before it)
    are exactly those that follow (precede) it in the list sorted in Python by code point; the
    all-ascending orderings take the row-value form, the others the OR-chain."""
    for index, (first, last) in enumerate(NAMES):
        await factory.user(f"u{index}", first_name=first, last_name=last, is_active=index % 3 != 0)
    columns = sort_columns(keys)
    users = list(await session.scalars(select(User)))
    ordered = sorted(users, key=lambda user: sort_key(user, columns))
    for index, user in enumerate(ordered):
        position = position_of(user, columns)
        for after, expected in ((True, ordered[index + 1 :]), (False, ordered[:index])):
            statement = select(User.id).where(keyset_condition(columns, position, after=after))
            found = set(await session.scalars(statement))
            assert found == {other.id for other in expected}, (user.username, after)


def sort_key(user: User, columns: list[SortColumn]) -> tuple[Any, ...]:
    """The list order in Python: code points for text, false first, each column's direction."""
    key: list[Any] = []
    for column in columns:
        value = column.value_of(user)
        if isinstance(value, str):
            value = tuple(-ord(c) for c in value) + (1,) if column.descending else value
        elif column.descending:
            value = -int(value)
        key.append(value)
    return tuple(key)


# --- a searched page searches once -------------------------------------------------------------


@pytest.mark.parametrize("values", [{"query": "ann smith"}, {"full_name": "ann", "email": "exa"}])
async def test_a_searched_page_and_its_total_search_once(
    session: AsyncSession, values: dict[str, object]
) -> None:
    """The substring conditions are evaluated once per statement, in the materialized
    ``matches`` CTE; the page and its total both read that set rather than testing every row
    of the ordering's index against each substring again."""
    staff = Caller(User(is_staff=True))
    statement = page_statement(
        staff, UserFilter.from_values(values), [], BACKEND, offset=0, limit=50
    )
    plan = await plan_of(session, statement)
    if PG:
        assert plan.count("CTE matches") == 1, plan
        searched = [line for line in plan.splitlines() if "~~*" in line]
        assert searched, plan
        cte_end = plan.index("InitPlan") if "InitPlan" in plan else len(plan)
        assert all(plan.index(line) < cte_end for line in searched), plan
    else:
        assert plan.count("MATERIALIZE matches") == 1, plan
        assert plan.count("SCAN matches") == 3, plan  # the total and the walk from either end
