"""Keyset (cursor) paging of the user list, for the GraphQL connection.

A position in a list is the tuple of the sort values of one row: the values of the ordering's
sort columns (``ordering.sort_columns``), whose last column is always the ``users.id``
tiebreaker. Rows "after" a position are those the ORDER BY puts after it, which for columns
``c1..cn`` with directions ``d1..dn`` is::

    c1 >1 v1 OR (c1 = v1 AND (c2 >2 v2 OR (c2 = v2 AND ... cn >n vn)))

where ``>i`` is ``>`` for an ascending column and ``<`` for a descending one, so any mix of
directions works, and each comparison uses the column's sort expression (``COLLATE "C"`` on
PostgreSQL) so that the WHERE and the ORDER BY agree on every backend. None of the sortable
columns is nullable, so no NULL handling is needed.

When every column goes the same direction (all ascending, since the id tiebreaker always is),
that chain is the row-value comparison ``(c1, ..., cn) > (v1, ..., vn)``, which is what the
condition is then written as: both databases turn it into a bound of the index on the
ordering's columns (an ``Index Cond`` on PostgreSQL, ``SEARCH ... USING INDEX`` on SQLite),
whereas they only apply the OR-chain as a filter over the rows the scan reads. The two agree
even when the tiebreaker's subquery finds no row (a deleted user): the comparison is then NULL
exactly where the chain reaches ``id > NULL``.

The tiebreaker value is the row's *uuid*, not its id: ids are internal and never leave the
service (responses carry uuids only), and a cursor's payload is readable by anyone who
base64-decodes it (its signature only stops changes: docs/hardening.md#signed-cursors). For the same
reason a caller may order (and filter) only by fields they can read on every user they can
list: ``ensure_readable_sort_and_filter``. The condition
compares ``users.id`` with ``(SELECT id FROM users WHERE uuid = :uuid)``, an uncorrelated
subquery that the database evaluates once. (If that user is deleted between two pages, only
rows whose other sort values tie with it exactly can be skipped.)

A deep page costs what the first page does: an index range scan from the position, never an
OFFSET over the rows before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.filters import FILTER_READS, UserFilter
from gql_users.accounts.listing import (
    cached_statement,
    caller_id_parameter,
    ensure_can_list_users,
    filtered_users,
)
from gql_users.accounts.ordering import TIEBREAKER, OrderKey, SortColumn, sort_columns
from gql_users.accounts.shaping import fields_readable_on_every_listed_user
from gql_users.accounts.user_rows import (
    EVERY_COLUMN,
    UserRecord,
    caller_parameters,
    record_columns,
    selected_columns,
    user_records,
)
from gql_users.db.models import Customer, Project, User

INVALID_POSITION = "The cursor does not match the ordering of this list."
HIDDEN_ORDERING = (
    "You may not order users by {name}: it is hidden from you on some of the users you can list."
)
HIDDEN_FILTER = (
    "You may not filter users by this: it compares {names}, hidden from you on some of the "
    "users you can list."
)

Row = TypeVar("Row")

Position = tuple[Any, ...]
"""The sort values of one row, one per sort column; the last one is the row's uuid."""


def ordering_signature(columns: Sequence[SortColumn]) -> str:
    """A stable text naming the sort columns and directions (``-is_active,username,id``).

    Cursors carry it so that a cursor taken under one ordering is refused under another,
    rather than silently starting from a meaningless place.
    """
    return ",".join(f"-{_column_name(c)}" if c.descending else _column_name(c) for c in columns)


def _column_name(column: SortColumn) -> str:
    """The attribute, with its table for any list but the users' (whose cursors predate the
    other lists): a customer cursor is then refused by the project list, and so on."""
    if column.model is User:
        return column.attribute
    return f"{column.model.__tablename__}.{column.attribute}"


def ensure_readable_sort_and_filter(
    caller: Caller, user_filter: UserFilter, ordering: Sequence[OrderKey]
) -> None:
    """Refuse an ordering or a filter on a field that ``caller`` cannot read on every user
    they can list (docs/hardening.md#cursors-and-hidden-fields).

    A cursor carries the sort values of its row, and a filter answers yes or no about a value,
    so either would reveal what field shaping hides. Staff and support read every field of
    every user, so nothing is refused to them.

    Raises:
        ValidationFailed: ``{"order_by": [...]}`` and one entry per refused filter, each
            naming the field.
    """
    if caller.is_privileged:
        return
    readable = fields_readable_on_every_listed_user(caller)
    errors: dict[str, list[str]] = {}
    hidden_keys = [key.name for key in ordering if key.name not in readable]
    if hidden_keys:
        errors["order_by"] = [HIDDEN_ORDERING.format(name=name) for name in hidden_keys]
    for name in user_filter.given:
        hidden = [field for field in FILTER_READS[name] if field not in readable]
        if hidden:
            errors[name] = [HIDDEN_FILTER.format(names=", ".join(hidden))]
    if errors:
        raise ValidationFailed(errors)


def position_of(row: User | Customer | Project, columns: Sequence[SortColumn]) -> Position:
    """The position of ``row`` in a list sorted by ``columns`` (uuid in place of the id)."""
    return tuple(
        row.uuid if column.attribute == TIEBREAKER.attribute else column.value_of(row)
        for column in columns
    )


def check_position(values: Sequence[Any], columns: Sequence[SortColumn]) -> Position:
    """Validate raw position values (decoded from a cursor) against ``columns``.

    Returns:
        The position with the uuid parsed.

    Raises:
        ValidationFailed: a bare list with ``INVALID_POSITION`` when the number or the types
            of the values do not fit the columns.
    """
    if len(values) != len(columns):
        raise ValidationFailed([INVALID_POSITION])
    checked: list[Any] = []
    for column, value in zip(columns, values, strict=True):
        if column.attribute == TIEBREAKER.attribute:
            try:
                checked.append(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
            except ValueError:
                raise ValidationFailed([INVALID_POSITION]) from None
        elif isinstance(column.column.type, Boolean):
            if not isinstance(value, bool):
                raise ValidationFailed([INVALID_POSITION])
            checked.append(value)
        else:
            if not isinstance(value, str):
                raise ValidationFailed([INVALID_POSITION])
            checked.append(value)
    return tuple(checked)


def _comparable(column: SortColumn, value: Any) -> tuple[ColumnElement[Any], Any]:
    """The expression to compare and the value to compare it with (a value of the position,
    or a parameter from ``position_parameters``)."""
    if column.attribute == TIEBREAKER.attribute:
        model: Any = column.model
        return column.expression, select(model.id).where(model.uuid == value).scalar_subquery()
    if isinstance(value, BindParameter):
        return column.expression, value
    # A bound parameter rather than the bare value: SQLAlchemy refuses ``col > True``.
    return column.expression, literal(value, type_=column.column.type)


def position_parameters(columns: Sequence[SortColumn], prefix: str) -> Position:
    """A position made of parameters named ``<prefix>_<n>``, one per sort column (the uuid for
    the tiebreaker), for a statement built once and executed with ``position_values``."""
    parameters: list[BindParameter[Any]] = []
    for number, column in enumerate(columns):
        model: Any = column.model
        typed = model.uuid if column.attribute == TIEBREAKER.attribute else column.column
        parameters.append(bindparam(f"{prefix}_{number}", type_=typed.type))
    return tuple(parameters)


def position_values(position: Position, prefix: str) -> dict[str, Any]:
    """The values of the parameters of ``position_parameters(columns, prefix)``."""
    return {f"{prefix}_{number}": value for number, value in enumerate(position)}


def keyset_condition(
    columns: Sequence[SortColumn], position: Position, *, after: bool
) -> ColumnElement[bool]:
    """Rows strictly after (``after=True``) or strictly before ``position`` in the order of
    ``columns``; see the module docstring for the shape of the condition.

    Args:
        columns: the sort columns, ending with the id tiebreaker.
        position: one value per column, as ``position_of`` or ``check_position`` give it.
        after: True for the rows after the position, False for the rows before it.
    """
    compared = [_comparable(column, value) for column, value in zip(columns, position, strict=True)]
    if not any(column.descending for column in columns):
        left = tuple_(*(expression for expression, _ in compared))
        right = tuple_(*(value for _, value in compared))
        return left > right if after else left < right
    condition: ColumnElement[bool] | None = None
    # Built from the last column outwards: c_k beyond v_k OR (c_k = v_k AND <rest>).
    for column, (expression, bound) in zip(reversed(columns), reversed(compared), strict=True):
        forward = after != column.descending
        beyond = expression > bound if forward else expression < bound
        condition = (
            beyond if condition is None else or_(beyond, and_(expression == bound, condition))
        )
    assert condition is not None, "an ordering always has the tiebreaker"
    return condition


@dataclass(frozen=True, slots=True)
class KeysetRequest:
    """Which slice of the ordered list to return.

    ``after``/``before`` bound the window (exclusive). With ``backward`` false the page is the
    first ``limit`` rows of the window after skipping ``offset``; with ``backward`` true it
    is the last ``limit`` rows after skipping ``offset`` rows from the end.
    """

    limit: int
    after: Position | None = None
    before: Position | None = None
    backward: bool = False
    offset: int = 0


@dataclass(frozen=True, slots=True)
class KeysetPage:
    """A page in list order, whether more rows exist beyond it, and its sort columns."""

    users: list[UserRecord]
    has_next: bool
    has_previous: bool
    columns: tuple[SortColumn, ...]
    total: int | None = None
    """How many users the whole list holds, when asked for and the page is not empty (it is
    read from the page's rows)."""


WINDOW_OFFSET = "window_offset"
WINDOW_LIMIT = "window_limit"
AFTER = "after"
BEFORE = "before"
TOTAL = "total"
_keyset_statements: dict[tuple[Hashable, ...], Select[Any]] = {}


def keyset_rows_statement(
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    request: KeysetRequest,
    columns: tuple[str, ...],
    with_total: bool = False,
) -> Select[Any]:
    """The statement of ``list_users_keyset``: the ``columns`` (``record_columns``) of the
    window's users, with the caller's id, the positions (``AFTER``/``BEFORE``,
    ``position_parameters``), the offset and the limit as parameters; ``with_total``, one more
    column, the same on every row: how many users the whole list holds (an uncorrelated
    subquery, counted once per execution).

    Built once for each kind of caller (privileged or not), filter, ordering, shape of request
    (which of after and before it has, and its direction), columns and total, and reused.
    """
    key = (
        caller.is_privileged,
        user_filter,
        tuple(ordering),
        request.after is not None,
        request.before is not None,
        request.backward,
        columns,
        with_total,
    )

    def build() -> Select[Any]:
        sorted_by = sort_columns(ordering)
        listed = filtered_users(caller, user_filter, caller_id_parameter())
        selected = listed.with_only_columns(*selected_columns(columns))
        if with_total:
            total = listed.with_only_columns(func.count(User.id)).scalar_subquery()
            selected = selected.add_columns(total.correlate(None).label(TOTAL))
        return window_statement(
            selected,
            sorted_by,
            after=None if request.after is None else position_parameters(sorted_by, AFTER),
            before=None if request.before is None else position_parameters(sorted_by, BEFORE),
            backward=request.backward,
            offset=bindparam(WINDOW_OFFSET, type_=Integer),
            limit=bindparam(WINDOW_LIMIT, type_=Integer),
        )

    return cached_statement(_keyset_statements, key, build)


async def list_users_keyset(
    session: AsyncSession,
    caller: Caller,
    user_filter: UserFilter,
    ordering: Sequence[OrderKey],
    request: KeysetRequest,
    wanted: Iterable[str] = EVERY_COLUMN,
    *,
    with_total: bool = False,
) -> KeysetPage:
    """One page of the users visible to ``caller``, located by keyset positions; one statement
    (``keyset_rows_statement``), whose rows are ``UserRecord``s of the ``wanted`` columns and
    the sort columns (``record_columns``: cursors are made from them), and with ``with_total``
    the number of users in the whole list, unless the page is empty (``count_users`` then).

    The window is ``fetch_window``'s, which the customer and project lists share.

    Args:
        session: the request's session.
        caller: decides visibility (and whether staff/support filters apply).
        user_filter: the list filters.
        ordering: the ordering keys; empty means username ascending.
        request: the window, direction, limit and offset.
        wanted: the columns of the users table the caller will read.
        with_total: count the whole list in the same statement.

    Returns:
        The page in list order.

    Raises:
        NotAuthenticated, PermissionDenied: see ``listing.ensure_can_list_users``.
        ValidationFailed: see ``ensure_readable_sort_and_filter``.
    """
    ensure_can_list_users(caller)
    ensure_readable_sort_and_filter(caller, user_filter, ordering)
    sorted_by = tuple(sort_columns(ordering))
    columns = record_columns([*wanted, *(column.attribute for column in sorted_by)])
    statement = keyset_rows_statement(caller, user_filter, ordering, request, columns, with_total)
    parameters = caller_parameters(caller)
    parameters[WINDOW_OFFSET] = request.offset
    parameters[WINDOW_LIMIT] = request.limit + 1
    if request.after is not None:
        parameters.update(position_values(request.after, AFTER))
    if request.before is not None:
        parameters.update(position_values(request.before, BEFORE))
    # With the total, each record has it as one more field, after the columns.
    fields = (*columns, TOTAL) if with_total else columns
    records = await user_records(session, statement, fields, parameters)
    total = int(records[0].total) if with_total and records else None
    window = _window(records, request)
    return KeysetPage(
        users=window.rows,
        has_next=window.has_next,
        has_previous=window.has_previous,
        columns=sorted_by,
        total=total,
    )


@dataclass(frozen=True, slots=True)
class Window(Generic[Row]):
    """The rows of one keyset request, in list order, and whether the list goes on."""

    rows: list[Row]
    has_next: bool
    has_previous: bool


def window_statement(
    statement: Select[Row],
    columns: Sequence[SortColumn],
    *,
    after: Position | None,
    before: Position | None,
    backward: bool,
    offset: int | BindParameter[int],
    limit: int | BindParameter[int],
) -> Select[Row]:
    """``statement`` (a visible, filtered, unordered list) limited to the rows between the
    positions (values, or parameters), in the order of ``columns`` (reversed when
    ``backward``), from ``offset``, at most ``limit`` rows."""
    if after is not None:
        statement = statement.where(keyset_condition(columns, after, after=True))
    if before is not None:
        statement = statement.where(keyset_condition(columns, before, after=False))
    clauses = [
        (c.expression.asc() if c.descending else c.expression.desc()) if backward else c.clause
        for c in columns
    ]
    return statement.order_by(*clauses).offset(offset).limit(limit)


async def fetch_window(
    session: AsyncSession,
    statement: Select[Row],
    columns: Sequence[SortColumn],
    request: KeysetRequest,
) -> Window[Row]:
    """The slice of ``statement`` (a visible, filtered, unordered list) that ``request`` names,
    in the order of ``columns``; one statement (``window_statement``, see ``_window``)."""
    statement = window_statement(
        statement,
        columns,
        after=request.after,
        before=request.before,
        backward=request.backward,
        offset=request.offset,
        limit=request.limit + 1,
    )
    return _window(list((await session.scalars(statement)).all()), request)


def _window(rows: list[Row], request: KeysetRequest) -> Window[Row]:
    """The window of the rows fetched for ``request``, in list order.

    One row more than the limit is fetched to tell whether the list goes on in the direction
    of travel. In the other direction, the page is preceded (or followed) by more rows
    whenever a cursor or an offset was given on that side, which is exact for cursors taken
    from this list (the cursor's own row is there) and avoids a second query.
    """
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    if request.backward:
        rows.reverse()
        return Window(
            rows, has_next=request.before is not None or request.offset > 0, has_previous=more
        )
    return Window(rows, has_next=more, has_previous=request.after is not None or request.offset > 0)
