"""Alembic environment: always runs on a connection handed over by ``gql_users.db.migrate``."""

from __future__ import annotations

from alembic import context

from gql_users.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - guarded by gql_users.db.migrate
    raise RuntimeError("Run migrations with `gql-users migrate`, not the alembic command.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
