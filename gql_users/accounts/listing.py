"""The user read path: visibility, then filters, then ordering and paging
(docs/visibility.md#listing-users, docs/visibility.md#retrieving-one-user).

Both APIs call these functions; they add nothing but rendering.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller, CallerKind, ensure_authenticated
from gql_users.accounts.errors import ListingRefused, NotFound
from gql_users.accounts.filters import UserFilter, apply_filter
from gql_users.accounts.ordering import OrderKey, order_by_clauses
from gql_users.accounts.pagination import INVALID_PAGE, LAST_PAGE, Page, PageRequest
from gql_users.accounts.validation import parse_uuid
from gql_users.accounts.visibility import visible_users
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


def filtered_users(caller: Caller, user_filter: UserFilter | None = None) -> Select[User]:
    """``SELECT users`` visible to ``caller`` and matching ``user_filter``, unordered."""
    statement = visible_users(caller)
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
    statement = page_statement(caller, user_filter, ordering, offset=offset, limit=limit)
    users, _ = await _users_and_total(session, statement)
    return users, total


async def list_users_page(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    page_request: PageRequest,
) -> tuple[list[User], Page]:
    """``list_users`` for a REST page request.

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
        statement = page_statement(
            caller, user_filter, ordering, offset=page.offset, limit=page.limit
        )
        users, _ = await _users_and_total(session, statement)
        return users, page
    ensure_can_list_users(caller)
    if page_request.page < 1:
        raise NotFound(INVALID_PAGE)
    offset = (page_request.page - 1) * page_request.size
    statement = page_statement(
        caller, user_filter, ordering, offset=offset, limit=page_request.size
    )
    users, total = await _users_and_total(session, statement)
    return users, page_request.resolve(total)


def page_statement(
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    *,
    offset: int,
    limit: int,
) -> Select[User, int]:
    """The users of one page, each with the total of the whole filtered list.

    A deferred join: the subquery pages over the ids alone, which the index of the ordering
    holds, so the rows skipped by a deep offset are never read from the table; only the page's
    rows are. The total is an uncorrelated scalar subquery, which the database evaluates once,
    so no separate count is needed while the page has a row. (``count(*) OVER ()`` in the ids
    subquery would do the same on PostgreSQL, but makes SQLite sort the whole list.)
    """
    clauses = order_by_clauses(ordering)
    listed = filtered_users(caller, user_filter)
    page_ids = (
        listed.with_only_columns(User.id)
        .order_by(*clauses)
        .offset(offset)
        .limit(limit)
        .subquery("page_ids")
    )
    total = listed.with_only_columns(func.count(User.id)).correlate(None).scalar_subquery()
    return (
        select(User, total.label("total"))
        .join(page_ids, User.id == page_ids.c.id)
        .order_by(*clauses)
    )


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
