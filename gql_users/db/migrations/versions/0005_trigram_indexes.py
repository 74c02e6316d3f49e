"""PostgreSQL: trigram indexes for the substring (icontains) filters of the user list.

The ``full_name``, ``user_keyword``, ``query`` and other substring filters compare
``column ILIKE '%' || :value || '%'`` on PostgreSQL (gql_users/accounts/filters.py), which no
b-tree index can answer. A GIN index of ``column gin_trgm_ops`` can, on the bare column the
filter names (an index on ``lower(column)`` would not match the query's expression). The
indexes need the ``pg_trgm`` extension (PostgreSQL's contrib). Where it cannot be created
(not installed, or the migrating role may not create extensions), the migration warns and
skips the indexes: the filters answer the same, only slower (docs/deploy.md#migrations).
SQLite gets nothing. The index names are in ``models.POSTGRESQL_TRIGRAM_INDEXES``, which the
schema tests know.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

from gql_users.db.models import POSTGRESQL_TRIGRAM_INDEXES as TRIGRAM_INDEXES

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SKIPPED = (
    "pg_trgm could not be created ({error}); the substring filters of the user list will scan "
    "the table; docs/deploy.md#migrations says how to add the trigram indexes later."
)


def _create_extension(connection: sa.Connection) -> bool:
    """Create pg_trgm unless it exists; False (with a warning) when that is not allowed."""
    try:
        # A savepoint, so that a refusal leaves the migration's transaction usable.
        with connection.begin_nested():
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as error:
        warnings.warn(SKIPPED.format(error=type(error.orig).__name__), stacklevel=1)
        return False
    return True


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql" or not _create_extension(connection):
        return
    for name, expression in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON users USING gin ({expression})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
