"""The user read path: visibility, then filters, then ordering and paging
(docs/visibility.md#listing-users, docs/visibility.md#retrieving-one-user).

Both APIs call these functions; they add nothing but rendering.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller, CallerKind, ensure_authenticated
from gql_users.accounts.errors import ListingRefused, NotFound
from gql_users.accounts.filters import UserFilter, apply_filter
from gql_users.accounts.ordering import OrderKey, order_by_clauses
from gql_users.accounts.pagination import Page, PageRequest
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
    users = await _fetch(session, caller, user_filter, ordering, offset=offset, limit=limit)
    return users, total


async def list_users_page(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    page_request: PageRequest,
) -> tuple[list[User], Page]:
    """``list_users`` for a REST page request: counts first, because ``page=last`` and the
    range check need the total; two statements (one when the page is out of range).

    Raises:
        NotAuthenticated, PermissionDenied: see ``ensure_can_list_users``.
        NotFound: "Invalid page." for a page out of range.
    """
    total = await count_users(session, caller, user_filter)
    page = page_request.resolve(total)
    if total == 0:
        return [], page
    users = await _fetch(
        session, caller, user_filter, ordering, offset=page.offset, limit=page.limit
    )
    return users, page


async def _fetch(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    *,
    offset: int,
    limit: int,
) -> list[User]:
    statement = (
        filtered_users(caller, user_filter)
        .order_by(*order_by_clauses(ordering))
        .offset(offset)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


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
