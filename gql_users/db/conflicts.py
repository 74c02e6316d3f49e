"""Write conflicts on both backends: the dialect's upsert, and which unique key a failed write hit.

A check made before a write ("is this username free?") cannot stop a parallel request from
taking the value in between; the database's unique constraints do. These helpers let the
accounts core write with ``INSERT ... ON CONFLICT`` where a conflict has an answer, and name
the constraint an ``IntegrityError`` reports where it becomes a field error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gql_users.db.models import Base

# PostgreSQL names the constraint, SQLite the table and its columns.
_POSTGRESQL = re.compile(r'violates unique constraint "(?P<name>[^"]+)"')
_SQLITE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w.]+(?:, [\w.]+)*)")


def dialect_insert(
    bind: AsyncSession | AsyncConnection,
) -> Callable[[type[Base]], postgresql.Insert | sqlite.Insert]:
    """The ``insert`` construct with ``on_conflict_do_*`` for the backend of a session or a
    connection."""
    dialect = bind.dialect if isinstance(bind, AsyncConnection) else bind.get_bind().dialect
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True, slots=True)
class UniqueViolation:
    """The unique key a write collided with."""

    table: str
    columns: tuple[str, ...]


def _constraint_columns(name: str) -> UniqueViolation | None:
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if (
                isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint)
                and constraint.name == name
            ):
                return UniqueViolation(table.name, tuple(c.name for c in constraint.columns))
        for index in table.indexes:
            if index.unique and index.name == name:
                return UniqueViolation(table.name, tuple(c.name for c in index.columns))
    return None


def unique_violation(error: IntegrityError) -> UniqueViolation | None:
    """The unique key ``error`` reports, or None for another integrity error (a foreign key)."""
    message = str(error.orig)
    if match := _POSTGRESQL.search(message):
        return _constraint_columns(match["name"])
    if match := _SQLITE.search(message):
        qualified = [column.split(".", 1) for column in match["columns"].split(", ")]
        if all(len(parts) == 2 for parts in qualified):
            return UniqueViolation(qualified[0][0], tuple(parts[1] for parts in qualified))
    return None
