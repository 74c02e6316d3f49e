"""Initial schema: users, tokens, roles, customers, projects, permissions, email changes, lockout.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from gql_users.db.models import BUILTIN_ROLES, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("slug", sa.String(50), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("civil_number", sa.String(50), nullable=True),
        sa.Column("native_name", sa.String(100), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("query_field", sa.String(300), nullable=False),
        sa.Column("phone_number", sa.String(255), nullable=False),
        sa.Column("organization", sa.String(255), nullable=False),
        sa.Column("job_title", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("affiliations", sa.JSON(), nullable=False),
        sa.Column("is_staff", sa.Boolean(), nullable=False),
        sa.Column("is_support", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_identity_manager", sa.Boolean(), nullable=False),
        sa.Column("notifications_enabled", sa.Boolean(), nullable=False),
        sa.Column("date_joined", UTCDateTime(), nullable=False),
        sa.Column("modified", UTCDateTime(), nullable=False),
        sa.Column("last_sync", UTCDateTime(), nullable=False),
        sa.Column("last_login", UTCDateTime(), nullable=True),
        sa.Column("registration_method", sa.String(50), nullable=False),
        sa.Column("identity_source", sa.String(50), nullable=False),
        sa.Column("agreement_date", UTCDateTime(), nullable=True),
        sa.Column("preferred_language", sa.String(10), nullable=False),
        sa.Column("token_lifetime", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("backend_id", sa.String(255), nullable=False),
        sa.Column("image", sa.String(255), nullable=True),
        sa.Column("password", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("uuid", name="uq_users_uuid"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.UniqueConstraint("civil_number", name="uq_users_civil_number"),
    )
    op.create_index("ix_users_slug", "users", ["slug"])
    op.create_index("ix_users_email", "users", ["email"])
    op.create_index("ix_users_query_field", "users", ["query_field"])
    op.create_index("ix_users_first_name_last_name", "users", ["first_name", "last_name"])
    op.create_index("ix_users_date_joined", "users", ["date_joined"])
    op.create_index("ix_users_modified", "users", ["modified"])
    op.create_index("ix_users_agreement_date", "users", ["agreement_date"])
    op.create_index("ix_users_is_active_is_staff", "users", ["is_active", "is_staff"])
    op.create_index("ix_users_registration_method", "users", ["registration_method"])

    op.create_table(
        "auth_tokens",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_auth_tokens"),
        sa.UniqueConstraint("user_id", name="uq_auth_tokens_user_id"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_auth_tokens_user_id_users", ondelete="CASCADE"
        ),
    )

    roles = op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("scope_type", sa.String(20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_system_role", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roles"),
        sa.UniqueConstraint("uuid", name="uq_roles_uuid"),
        sa.UniqueConstraint("name", name="uq_roles_name"),
    )

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("abbreviation", sa.String(12), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("uuid", name="uq_customers_uuid"),
    )

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("uuid", name="uq_projects_uuid"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_projects_customer_id_customers",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_projects_customer_id", "projects", ["customer_id"])

    op.create_table(
        "user_roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expiration_time", UTCDateTime(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_roles"),
        sa.UniqueConstraint("uuid", name="uq_user_roles_uuid"),
        sa.CheckConstraint(
            "(customer_id IS NULL) <> (project_id IS NULL)",
            name="ck_user_roles_exactly_one_scope",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_roles_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_user_roles_role_id_roles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_user_roles_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_user_roles_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name="fk_user_roles_created_by_id_users",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_user_roles_role_id", "user_roles", ["role_id"])
    op.create_index("ix_user_roles_created_by_id", "user_roles", ["created_by_id"])
    op.create_index("ix_user_roles_user_id_is_active", "user_roles", ["user_id", "is_active"])
    op.create_index(
        "ix_user_roles_customer_id_is_active", "user_roles", ["customer_id", "is_active"]
    )
    op.create_index("ix_user_roles_project_id_is_active", "user_roles", ["project_id", "is_active"])

    op.create_table(
        "email_change_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("modified", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_change_requests"),
        sa.UniqueConstraint("uuid", name="uq_email_change_requests_uuid"),
        sa.UniqueConstraint("user_id", name="uq_email_change_requests_user_id"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_email_change_requests_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_email_change_requests_email", "email_change_requests", ["email"])

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
        sa.UniqueConstraint(
            "username", "client_address", name="uq_login_failures_username_client_address"
        ),
    )

    op.bulk_insert(
        roles,
        [
            {
                "uuid": uuid.uuid5(uuid.NAMESPACE_URL, f"gql-users:role:{name}"),
                "name": name,
                "description": description,
                "scope_type": scope_type,
                "is_active": True,
                "is_system_role": True,
            }
            for name, description, scope_type in BUILTIN_ROLES
        ],
    )


def downgrade() -> None:
    for table in (
        "login_failures",
        "email_change_requests",
        "user_roles",
        "projects",
        "customers",
        "roles",
        "auth_tokens",
        "users",
    ):
        op.drop_table(table)
