"""Customers and projects get a description; a role is granted at most once per user and scope.

The two partial unique indexes cover the *active* grants only, so a revoked grant (kept with
``is_active`` false) never blocks granting the same role again. Existing duplicates (two active
grants of one role to one user in one scope, which nothing should have written) are folded into
the oldest one before the indexes are created, so the migration cannot fail on old data.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCOPES = ("customer", "project")


def upgrade() -> None:
    for table in ("customers", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
    for scope in SCOPES:
        op.execute(
            f"""
            UPDATE user_roles SET is_active = false
            WHERE is_active AND {scope}_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM user_roles AS older
                WHERE older.is_active AND older.user_id = user_roles.user_id
                  AND older.role_id = user_roles.role_id
                  AND older.{scope}_id = user_roles.{scope}_id
                  AND older.id < user_roles.id
            )
            """
        )
        where = sa.text(f"is_active AND {scope}_id IS NOT NULL")
        op.create_index(
            f"uq_user_roles_active_{scope}_role",
            "user_roles",
            ["user_id", "role_id", f"{scope}_id"],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for scope in SCOPES:
        op.drop_index(f"uq_user_roles_active_{scope}_role", table_name="user_roles")
    for table in ("customers", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("description")
