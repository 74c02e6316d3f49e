"""Users as rows of the users table (``UserRecord``), for the GraphQL read path.

A ``UserRecord`` is read by attribute as a ``User`` is, so every user field reads it alike
(as REST renders its page from rows: ``listing.UserRow``), but no ORM object is made. The
statements that load them are built once for each kind of caller (and filter, ordering...)
and reused with the caller's id and the rest as parameters, as the REST page's
(``listing.page_rows_statement``): a repeated request pays neither building nor compiling
them. Each holds the time of the "current role" check as a parameter taken at each execution
(``grants.is_current``), so a cached statement still sees a grant expire.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import BindParameter, Integer, Select, bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.listing import (
    CALLER_ID,
    MAX_CACHED_PAGE_STATEMENTS,
    USER_COLUMNS,
    filtered_users,
)
from gql_users.accounts.permissions import POSTGRESQL, USER_IDS, in_user_ids
from gql_users.db.models import User

UserRecord: TypeAlias = Any
"""A row of the users table, every column but the password hash and the remote account's
``details`` (``listing.USER_COLUMNS``), read by attribute (``_UserRecord``)."""

_UserRecord: Any = namedtuple(  # type: ignore[misc]  # the names come from the table
    "UserRecord", [column.key for column in USER_COLUMNS]
)
"""A named tuple rather than SQLAlchemy's ``Row``, whose attributes are looked up by name at
each read."""

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


def caller_parameters(caller: Caller) -> dict[str, Any]:
    """The parameters of a statement built with ``caller_id_parameter()``."""
    return {CALLER_ID: caller.user.id if caller.user is not None else None}


def caller_id_parameter() -> BindParameter[int]:
    """The caller's id in a statement built once per kind of caller (``visible_users``)."""
    return bindparam(CALLER_ID, type_=Integer)


async def user_records(
    session: AsyncSession, statement: Select[Any], parameters: dict[str, Any]
) -> list[UserRecord]:
    """Run ``statement`` (over ``USER_COLUMNS``, in their order) on the session's connection:
    its rows as ``UserRecord``."""
    connection = await session.connection()
    make = _UserRecord._make
    return [make(row) for row in await connection.execute(statement, parameters)]


_visible_by_id: dict[tuple[bool, bool, bool], Select[Any]] = {}


def visible_users_by_id_statement(caller: Caller, dialect: str) -> Select[Any]:
    """``USER_COLUMNS`` of the users visible to ``caller`` (``filtered_users``) among the
    ``USER_IDS`` parameter; the caller's id is the ``CALLER_ID`` parameter."""
    postgresql = dialect == POSTGRESQL
    return cached_statement(
        _visible_by_id,
        (caller.user is None, caller.is_privileged, postgresql),
        lambda: (
            filtered_users(caller, caller_id=caller_id_parameter())
            .with_only_columns(*USER_COLUMNS)
            .where(in_user_ids(User.id, POSTGRESQL if postgresql else "other"))
        ),
    )


async def visible_users_by_id(
    session: AsyncSession, caller: Caller, user_ids: Sequence[int]
) -> dict[int, UserRecord]:
    """The users among ``user_ids`` that ``caller`` may see, by id; one statement (none when
    ``user_ids`` is empty)."""
    if not user_ids:
        return {}
    connection = await session.connection()
    statement = visible_users_by_id_statement(caller, connection.dialect.name)
    parameters = caller_parameters(caller)
    parameters[USER_IDS] = list(user_ids)
    return {user.id: user for user in await user_records(session, statement, parameters)}
