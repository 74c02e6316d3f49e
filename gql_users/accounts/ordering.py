"""The ``o`` ordering of the user list (docs/rest.md#ordering,
docs/api-differences.md#repeated-o-keys-all-apply).

An ``OrderKey`` is what a client asks for (``-full_name``); its ``SortColumn``s are what the
database sorts by (``first_name DESC, last_name DESC``). Every ordering ends with ``users.id``
so that equal values still come back in one fixed order: offset paging never repeats or skips a
row, and a keyset cursor (GraphQL) can be built from the sort columns of the last row.

Strings sort by code point on both backends. SQLite compares text with memcmp (BINARY); on
PostgreSQL the column is compared with ``COLLATE "C"``, which is the same order, rather than the
database's locale collation, which differs between installations. Booleans sort false first on
both. None of the sortable columns is nullable, so NULL placement never matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Boolean, ColumnElement, String, UnaryExpression
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from gql_users.db.models import Base, User

ORDERING_FIELDS: dict[str, tuple[str, ...]] = {
    "full_name": ("first_name", "last_name"),
    "native_name": ("native_name",),
    "email": ("email",),
    "phone_number": ("phone_number",),
    "description": ("description",),
    "organization": ("organization",),
    "job_title": ("job_title",),
    "username": ("username",),
    "is_active": ("is_active",),
    "registration_method": ("registration_method",),
    "is_staff": ("is_staff",),
    "is_support": ("is_support",),
}
"""Each allowed ``o`` name and the User attributes it sorts by, in order."""

MAX_ORDER_KEYS = len(ORDERING_FIELDS)
"""The most ordering keys a GraphQL ``orderBy`` takes: one per name, since a repeated name
could not change the order (docs/hardening.md#graphql-limits)."""


class CodePointOrder(FunctionElement[str]):
    """A text column compared by code point: ``col COLLATE "C"`` on PostgreSQL, else ``col``."""

    name = "code_point_order"
    type = String()
    inherit_cache = True


@compiles(CodePointOrder)
def _compile_code_point_order(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(CodePointOrder, "postgresql")
def _compile_code_point_order_pg(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


@dataclass(frozen=True, slots=True)
class SortColumn:
    """One column of the ORDER BY: the model attribute, its direction and its SQL expression.

    ``attribute`` lets a keyset cursor read the value from a loaded row; ``expression`` is
    what both the ORDER BY and a cursor's comparison must use, so the two always agree.
    ``model`` is ``User`` for the user list; the customer and project lists
    (``gql_users.accounts.scopes``) sort their own models the same way.
    """

    attribute: str
    descending: bool = False
    model: type[Base] = User

    @property
    def column(self) -> ColumnElement[Any]:
        """The mapped column (its ORM expression, so mypy sees a ``ColumnElement`` and not the
        descriptor that ``InstrumentedAttribute`` is)."""
        attribute: InstrumentedAttribute[Any] = getattr(self.model, self.attribute)
        return attribute.expression

    @property
    def expression(self) -> ColumnElement[Any]:
        column = self.column
        if isinstance(column.type, Boolean) or self.attribute == "id":
            return column
        return CodePointOrder(column)

    @property
    def clause(self) -> UnaryExpression[Any]:
        return self.expression.desc() if self.descending else self.expression.asc()

    def value_of(self, row: Base) -> Any:
        return getattr(row, self.attribute)


TIEBREAKER = SortColumn("id")
"""Appended to every ordering: ids are unique, so the order of a page is fully determined."""


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``o`` item: an allowed name, ascending unless ``descending``."""

    name: str
    descending: bool = False

    def __post_init__(self) -> None:
        if self.name not in ORDERING_FIELDS:
            raise ValueError(f"{self.name!r} is not an ordering of users")

    @property
    def sort_columns(self) -> tuple[SortColumn, ...]:
        return tuple(SortColumn(name, self.descending) for name in ORDERING_FIELDS[self.name])

    def __str__(self) -> str:
        return f"-{self.name}" if self.descending else self.name


DEFAULT_ORDERING: tuple[OrderKey, ...] = (OrderKey("username"),)


class SortKey(Protocol):
    """An ordering key of any list: the columns it sorts by."""

    @property
    def sort_columns(self) -> tuple[SortColumn, ...]: ...


def sort_columns(
    keys: Sequence[SortKey],
    default: Sequence[SortKey] = DEFAULT_ORDERING,
    tiebreaker: SortColumn = TIEBREAKER,
) -> list[SortColumn]:
    """The columns to sort by for ``keys`` (``default`` when empty), ending with the
    tiebreaker (the users' id unless another list names its own).

    A column asked for twice (``o=username,-username``) keeps its first position and direction;
    the later mention could not change the order anyway.
    """
    columns: list[SortColumn] = []
    seen: set[str] = set()
    for key in keys or default:
        for column in key.sort_columns:
            if column.attribute not in seen:
                seen.add(column.attribute)
                columns.append(column)
    columns.append(tiebreaker)
    return columns


def order_by_clauses(keys: Sequence[OrderKey]) -> list[UnaryExpression[Any]]:
    """``ORDER BY`` clauses for ``keys``; see ``sort_columns``."""
    return [column.clause for column in sort_columns(keys)]
