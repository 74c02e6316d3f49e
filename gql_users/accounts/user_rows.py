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
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeAlias

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.listing import (
    CALLER_ID,
    MAX_CACHED_PAGE_STATEMENTS,
    cached_statement,
    caller_id_parameter,
    filtered_users,
)
from gql_users.accounts.permissions import POSTGRESQL, USER_IDS, in_user_ids
from gql_users.db.models import User

UserRecord: TypeAlias = Any
"""A row of the users table, read by attribute (a named tuple of ``record_class``): some or
all of ``RECORD_COLUMNS``, always the id and the uuid."""

RECORD_COLUMNS = tuple(
    column for column in User.__table__.c if column.key not in ("password", "details")
)
"""The columns a GraphQL user may read, loaded as their Python values (a ``types.User`` field
converts them itself): neither the password hash nor the claims kept from a remote account
(``details``). The REST list loads its own, in their wire form (``listing.USER_COLUMNS``)."""

COLUMN_BY_KEY = {column.key: column for column in RECORD_COLUMNS}
ALWAYS = ("id", "uuid")
"""The columns every record has: the id (planning, who the caller is) and the uuid (node ids,
cursors)."""
EVERY_COLUMN = tuple(COLUMN_BY_KEY)


def record_columns(wanted: Iterable[str]) -> tuple[str, ...]:
    """``ALWAYS`` and the columns among ``wanted`` (the ``UserField.columns`` of the fields a
    request shows, say), in the table's order: the key of a record's statement and class."""
    chosen = set(wanted).union(ALWAYS)
    return tuple(key for key in EVERY_COLUMN if key in chosen)


def has_columns(user: User | UserRecord, wanted: Iterable[str]) -> bool:
    """Whether ``user`` (an ORM ``User``, which has them all, or a ``UserRecord``) holds each
    of the ``wanted`` columns."""
    return isinstance(user, User) or set(wanted).issubset(user._fields)


@lru_cache(maxsize=MAX_CACHED_PAGE_STATEMENTS)
def record_class(columns: tuple[str, ...]) -> Any:
    """A named tuple of ``columns`` (``record_columns``): reading its fields by name is several
    times cheaper than reading a result ``Row``'s."""
    return namedtuple("UserRecord", columns)  # noqa: PYI024


def selected_columns(columns: tuple[str, ...]) -> list[Any]:
    """The users table's columns named ``columns``, for ``Select.with_only_columns``."""
    return [COLUMN_BY_KEY[key] for key in columns]


def caller_parameters(caller: Caller) -> dict[str, Any]:
    """The parameters of a statement built with ``caller_id_parameter()``."""
    return {CALLER_ID: caller.user.id if caller.user is not None else None}


async def user_records(
    session: AsyncSession,
    statement: Select[Any],
    columns: tuple[str, ...],
    parameters: dict[str, Any],
) -> list[UserRecord]:
    """Run ``statement`` (over ``selected_columns(columns)``, and any further columns named
    after them in ``columns``) on the session's connection: its rows as ``UserRecord``s."""
    connection = await session.connection()
    make = record_class(columns)._make
    return [make(row) for row in await connection.execute(statement, parameters)]


_visible_by_id: dict[tuple[bool, bool, bool, tuple[str, ...]], Select[Any]] = {}


def visible_users_by_id_statement(
    caller: Caller, dialect: str, columns: tuple[str, ...] = EVERY_COLUMN
) -> Select[Any]:
    """``columns`` (``record_columns``) of the users visible to ``caller`` (``filtered_users``)
    among the ``USER_IDS`` parameter; the caller's id is the ``CALLER_ID`` parameter."""
    postgresql = dialect == POSTGRESQL
    return cached_statement(
        _visible_by_id,
        (caller.user is None, caller.is_privileged, postgresql, columns),
        lambda: (
            filtered_users(caller, caller_id=caller_id_parameter())
            .with_only_columns(*selected_columns(columns))
            .where(in_user_ids(User.id, POSTGRESQL if postgresql else "other"))
        ),
    )


async def visible_users_by_id(
    session: AsyncSession,
    caller: Caller,
    user_ids: Sequence[int],
    wanted: Iterable[str] = EVERY_COLUMN,
) -> dict[int, UserRecord]:
    """The users among ``user_ids`` that ``caller`` may see, by id, with the ``wanted`` columns
    (``record_columns``); one statement (none when ``user_ids`` is empty)."""
    if not user_ids:
        return {}
    connection = await session.connection()
    columns = record_columns(wanted)
    statement = visible_users_by_id_statement(caller, connection.dialect.name, columns)
    parameters = caller_parameters(caller)
    parameters[USER_IDS] = list(user_ids)
    records = await user_records(session, statement, columns, parameters)
    return {user.id: user for user in records}
