"""PostgreSQL: indexes for the code-point (COLLATE "C") orderings of the user list.

The list sorts text by code point on every backend (gql_users/accounts/ordering.py). SQLite's
plain indexes already compare that way; PostgreSQL's compare with the database's locale, so
they cannot serve ``ORDER BY username COLLATE "C"``. These expression indexes can, which keeps
the default ordering and keyset pages index-driven. They exist on PostgreSQL only (listed in
``models.POSTGRESQL_CODE_POINT_INDEXES``, which the schema tests know).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

from gql_users.db.models import POSTGRESQL_CODE_POINT_INDEXES as CODE_POINT_INDEXES

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, expression in CODE_POINT_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON users ({expression})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in CODE_POINT_INDEXES:
        op.execute(f"DROP INDEX {name}")
