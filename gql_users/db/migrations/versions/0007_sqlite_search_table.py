"""SQLite: a trigram full-text table for the substring (icontains) filters of the user list.

The SQLite counterpart of migration 0005's trigram indexes: ``users_search``, an FTS5 table with
the ``trigram`` tokenizer over the searched columns of ``users``, external-content (it indexes
the rows of ``users``), kept in step by triggers on insert, update and delete, and filled here
from the existing rows. The list uses it to narrow a substring search before testing the exact
condition (``gql_users.db.search``). Where this SQLite has no FTS5 or no trigram tokenizer
(before 3.34), the migration warns and skips the table: the filters answer the same, only by
reading every row (docs/deploy.md#migrations). PostgreSQL gets nothing. The statements are
``gql_users.db.search.CREATE_STATEMENTS``, which the tests know.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import warnings

from alembic import op

from gql_users.db import search

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SKIPPED = (
    "this SQLite has no FTS5 trigram tokenizer (3.34 or later with FTS5 is needed); the "
    "substring filters of the user list will scan the table (docs/deploy.md#migrations)."
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    if not search.sqlite_has_trigram():
        warnings.warn(SKIPPED, stacklevel=1)
        return
    for statement in search.CREATE_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in search.DROP_STATEMENTS:
        op.execute(statement)
