"""The user read path: visibility, then filters, then ordering and paging
(docs/visibility.md#listing-users, docs/visibility.md#retrieving-one-user).

Both APIs call these functions; they add nothing but rendering.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    UnaryExpression,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from gql_users.accounts.callers import Caller, CallerKind, ensure_authenticated
from gql_users.accounts.errors import ListingRefused, NotFound
from gql_users.accounts.filters import UserFilter, apply_filter
from gql_users.accounts.ordering import OrderKey, SortColumn, sort_columns
from gql_users.accounts.pagination import INVALID_PAGE, LAST_PAGE, MAX_OFFSET, Page, PageRequest
from gql_users.accounts.permissions import POSTGRESQL, in_wire_form
from gql_users.accounts.validation import parse_uuid
from gql_users.accounts.visibility import CallerId, visible_users
from gql_users.db.models import User

IDENTITY_MANAGER_CANNOT_LIST = "Identity manager is not allowed to list users."


def ensure_can_list_users(caller: Caller) -> None:
    """Anonymous callers may not list users, nor may identity managers
    (docs/visibility.md#listing-users); an identity manager may still retrieve the users visible to
    them.

    Raises:
        NotAuthenticated: anonymous caller (401).
        ListingRefused: identity manager who is neither staff nor support (403; the REST
            shim renders it as a bare JSON string, as Waldur does).
    """
    ensure_authenticated(caller)
    if caller.kind is CallerKind.IDENTITY_MANAGER:
        raise ListingRefused(IDENTITY_MANAGER_CANNOT_LIST)


def filtered_users(
    caller: Caller, user_filter: UserFilter | None = None, caller_id: CallerId | None = None
) -> Select[User]:
    """``SELECT users`` visible to ``caller`` and matching ``user_filter``, unordered
    (``caller_id``: see ``visible_users``)."""
    statement = visible_users(caller, caller_id)
    return apply_filter(statement, user_filter, caller) if user_filter else statement


async def count_users(session: AsyncSession, caller: Caller, user_filter: UserFilter) -> int:
    """How many users the list would hold (``X-Result-Count``, ``totalCount``); one statement.

    Raises:
        NotAuthenticated, PermissionDenied: see ``ensure_can_list_users``.
    """
    ensure_can_list_users(caller)
    statement = filtered_users(caller, user_filter).with_only_columns(func.count(User.id))
    return int(await session.scalar(statement) or 0)


async def list_users(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    *,
    offset: int,
    limit: int,
) -> tuple[list[User], int]:
    """One page of the users visible to ``caller`` and the total; two statements.

    Args:
        session: the request's session.
        caller: decides visibility and whether ``is_staff``/``is_support`` may filter.
        user_filter: the list filters.
        ordering: ``o`` keys; empty means username ascending. Ties end on the user id.
        offset: rows to skip.
        limit: rows to return at most.

    Returns:
        The page of users (token relationship not loaded) and the total count.

    Raises:
        NotAuthenticated, PermissionDenied: see ``ensure_can_list_users``.
    """
    total = await count_users(session, caller, user_filter)
    dialect = session.get_bind().dialect.name
    statement = page_statement(caller, user_filter, ordering, dialect, offset=offset, limit=limit)
    users, _ = await _users_and_total(session, statement)
    return users, total


async def list_users_page(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    page_request: PageRequest,
) -> tuple[list[UserRow], Page]:
    """``list_users`` for a REST page request, as rows of the users table (``UserRow``: no
    ORM objects are made for them).

    A numbered page is one statement, which brings the total along with the rows
    (``page_statement``). When it finds no row, the list is empty or the page lies past its
    end; either way the page resolves against a total of 0: page 1 of an empty list, or
    "Invalid page." for any later one, which is what the real total would give too.
    ``page=last`` needs the total before its offset: a count, then the page (one statement when
    the list is empty).

    Raises:
        NotAuthenticated, PermissionDenied: see ``ensure_can_list_users``.
        NotFound: "Invalid page." for a page out of range.
    """
    if page_request.page == LAST_PAGE:
        page = page_request.resolve(await count_users(session, caller, user_filter))
        if page.total == 0:
            return [], page
        rows, _ = await _user_rows_and_total(
            session, caller, user_filter, ordering, page.offset, page.limit
        )
        return rows, page
    ensure_can_list_users(caller)
    offset = (page_request.page - 1) * page_request.size
    if page_request.page < 1 or offset > MAX_OFFSET:
        raise NotFound(INVALID_PAGE)
    rows, total = await _user_rows_and_total(
        session, caller, user_filter, ordering, offset, page_request.size
    )
    return rows, page_request.resolve(total)


NOT_RENDERED = ("password", "details", "modified", "last_sync", "last_login", "query_field")
"""Columns no user field shows: neither the password hash nor the claims kept from a remote
account (``details``) are ever rendered, nor the bookkeeping and the search column."""


USER_COLUMNS = tuple(
    in_wire_form(column) for column in User.__table__.c if column.key not in NOT_RENDERED
)
"""The columns of a ``UserRow``, uuids, datetimes and dates in their wire form."""

UserRow: TypeAlias = Any
"""A row of the users table (the columns some field shows) and the list's ``total``, read by
attribute as a ``User`` is (``_UserTuple``), but with its uuid, datetimes and dates already
in their wire form (text: docs/architecture.md#values-in-their-wire-form)."""

_UserTuple: Any = namedtuple(  # type: ignore[misc]  # the names come from the table
    "_UserTuple", [*(column.name for column in USER_COLUMNS), "total"]
)
"""A named tuple rather than SQLAlchemy's ``Row``, whose attributes are looked up by name at
each read: a page's body reads some 1,500 of them."""

CALLER_ID = "caller_id"
PAGE_OFFSET = "page_offset"
PAGE_LIMIT = "page_limit"
MAX_CACHED_PAGE_STATEMENTS = 256
_page_rows_statements: dict[tuple[str, bool, UserFilter, tuple[OrderKey, ...]], Select[Any]] = {}

Key = TypeVar("Key", bound=Hashable)
Statement = TypeVar("Statement")


def cached_statement(
    cache: dict[Key, Statement], key: Key, build: Callable[[], Statement]
) -> Statement:
    """``cache[key]``, built by ``build`` the first time; the cache forgets everything when it
    holds ``MAX_CACHED_PAGE_STATEMENTS`` (filters and orderings make many keys)."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= MAX_CACHED_PAGE_STATEMENTS:
            cache.clear()
        found = cache[key] = build()
    return found


def caller_id_parameter() -> BindParameter[int]:
    """The caller's id (``CALLER_ID``) in a statement built once per kind of caller."""
    return bindparam(CALLER_ID, type_=Integer)


def page_rows_statement(
    caller: Caller, user_filter: UserFilter, ordering: Sequence[OrderKey], dialect: str
) -> Select[Any]:
    """``page_statement`` over ``USER_COLUMNS``, with the caller's id, the offset and the limit
    as parameters (``CALLER_ID``, ``PAGE_OFFSET``, ``PAGE_LIMIT``), for the database
    ``dialect`` names.

    Built once for each database, kind of caller (privileged or not: nothing else of the
    caller shapes it), filter and ordering, and reused, so that a repeated page costs neither
    building the statement nor compiling it. The cache forgets everything when it is full.
    """
    return cached_statement(
        _page_rows_statements,
        (dialect, caller.is_privileged, user_filter, tuple(ordering)),
        lambda: _deferred_join(
            filtered_users(caller, user_filter, caller_id_parameter()),
            USER_COLUMNS,
            ordering,
            dialect,
            offset=bindparam(PAGE_OFFSET, type_=Integer),
            limit=bindparam(PAGE_LIMIT, type_=Integer),
        ),
    )


async def _user_rows_and_total(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    offset: int,
    limit: int,
) -> tuple[list[UserRow], int]:
    """Run a ``page_rows_statement``: its rows, and the total (0 when the page is empty)."""
    user = ensure_authenticated(caller)
    connection = await session.connection()
    statement = page_rows_statement(caller, user_filter, ordering, connection.dialect.name)
    parameters = {CALLER_ID: user.id, PAGE_OFFSET: offset, PAGE_LIMIT: limit}
    rows: list[UserRow] = [
        _UserTuple._make(row) for row in await connection.execute(statement, parameters)
    ]
    return rows, (rows[0].total if rows else 0)


def page_statement(
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    dialect: str,
    *,
    offset: int,
    limit: int,
) -> Select[User, int]:
    """The users of one page, each with the total of the whole filtered list (``total``), for
    the database ``dialect`` names."""
    listed = filtered_users(caller, user_filter)
    return _deferred_join(listed, (User,), ordering, dialect, offset=offset, limit=limit)


def _deferred_join(
    listed: Select[User],
    columns: Sequence[Any],
    ordering: Sequence[OrderKey],
    dialect: str,
    *,
    offset: int | BindParameter[int],
    limit: int | BindParameter[int],
) -> Select[Any]:
    """``columns`` of the users of one page of ``listed``, with the list's ``total``
    (docs/architecture.md#deep-pages).

    A deferred join: the page's ids are paged alone, over the index of the ordering, so the rows
    skipped by the offset are never read from the table; only the page's rows are, by id. The
    ids come from whichever end of the list is nearer: a page in the back half walks the index
    backwards, skipping ``total - offset - limit`` entries instead of ``offset``, so the last
    page costs what the first does and no page walks more than half the list. Both walks are
    in the statement; the one not taken has a ``LIMIT`` of 0 and is never run.

    The total is counted once, in a materialized CTE that both walks and the ``total`` column
    read, so no separate count is needed while the page has a row. (``count(*) OVER ()`` in the
    ids subquery would do the same on PostgreSQL, but makes SQLite sort the whole list.)

    The page's rows are then fetched by id. PostgreSQL cannot know how many ids a ``LIMIT``
    computed from the total yields and would plan a join for a tenth of the table (a hash of
    every user), so there the ids are an array built first, which is an index condition of the
    primary key whatever its length (``= ANY(ARRAY(...))``). SQLite is given the join, which
    it runs for each walk (a rowid lookup per id; given ``IN`` instead, it would rather read
    the whole table in the ordering's index order than sort 50 rows).
    """
    columns_to_sort = sort_columns(ordering)
    total_cte = (
        listed.with_only_columns(func.count(User.id).label("n"))
        .cte("total")
        .prefix_with("MATERIALIZED")
    )
    total = select(total_cte.c.n).scalar_subquery()
    offset_ = literal(offset, Integer) if isinstance(offset, int) else offset
    limit_ = literal(limit, Integer) if isinstance(limit, int) else limit
    from_front = offset_ * 2 < total
    forward = _page_ids(
        listed,
        [column.clause for column in columns_to_sort],
        limit=case((from_front, limit_), else_=0),
        offset=offset_,
    )
    left = total - offset_  # rows from the offset to the end (negative past the end)
    backward = _page_ids(
        listed,
        [_reversed(column) for column in columns_to_sort],
        limit=case((from_front | (left <= 0), 0), (left < limit_, left), else_=limit_),
        offset=case((left - limit_ > 0, left - limit_), else_=0),
    )
    page_ids = union_all(forward, backward)
    statement = select(*columns, total.label("total"))
    if dialect == POSTGRESQL:
        statement = statement.where(InArray(User.__table__.c.id, page_ids))
    else:
        ids = page_ids.subquery("page_ids")
        statement = statement.select_from(ids).join(User, User.id == ids.c.id)
    return statement.order_by(*(column.clause for column in columns_to_sort))


def _page_ids(
    listed: Select[User],
    clauses: Sequence[UnaryExpression[Any]],
    *,
    limit: ColumnElement[int],
    offset: ColumnElement[int],
) -> Select[Any]:
    """The ids of ``listed`` in the order of ``clauses``, ``limit`` of them after ``offset``,
    as a plain ``SELECT id FROM (...)`` (SQLite allows no ``LIMIT`` in a member of a UNION)."""
    walk = listed.with_only_columns(User.id).order_by(*clauses).limit(limit).offset(offset)
    ids = walk.subquery()
    return select(ids.c.id)


def _reversed(column: SortColumn) -> UnaryExpression[Any]:
    return column.expression.asc() if column.descending else column.expression.desc()


class InArray(ColumnElement[bool]):
    """PostgreSQL's ``column = ANY(ARRAY(ids))``: ``column`` among the values ``ids`` selects,
    gathered into an array before the outer statement runs."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[int], ids: CompoundSelect[Any]) -> None:
        self.column = column
        self.ids = ids


@compiles(InArray, "postgresql")
def _compile_in_array(element: InArray, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY({compiler.process(element.ids, asfrom=False, **kw)}))"


async def _users_and_total(
    session: AsyncSession, statement: Select[User, int]
) -> tuple[list[User], int]:
    """Run a ``page_statement``: its users, and the total (0 when the page is empty)."""
    rows = (await session.execute(statement)).all()
    return [user for user, _ in rows], (rows[0].total if rows else 0)


async def get_visible_user(
    session: AsyncSession,
    caller: Caller,
    user_uuid: uuid.UUID | str,
    user_filter: UserFilter | None = None,
) -> User:
    """The user with this uuid, if ``caller`` may see it (docs/visibility.md#retrieving-one-user).

    Args:
        session: the request's session.
        caller: whose visibility applies.
        user_uuid: a UUID, or its text with or without hyphens (a malformed one is "not found").
        user_filter: query filters of the request; Waldur applies them to detail routes too,
            so ``?is_active=false`` on an active user is a 404
            (docs/visibility.md#query-filters-on-detail-routes).

    Raises:
        NotFound: unknown, invisible, filtered out, or a malformed uuid.
    """
    parsed = user_uuid if isinstance(user_uuid, uuid.UUID) else parse_uuid(user_uuid)
    if parsed is None:
        raise NotFound()
    statement = filtered_users(caller, user_filter).where(User.uuid == parsed)
    user = await session.scalar(statement)
    if user is None:
        raise NotFound()
    return user
