"""The Alembic history builds the schema the models describe, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.db.engine import create_engine
from gql_users.db.migrate import alembic_config, migrate
from gql_users.db.models import (
    BUILTIN_ROLES,
    POSTGRESQL_CODE_POINT_INDEXES,
    POSTGRESQL_TRIGRAM_INDEXES,
    Base,
    Role,
)
from gql_users.db.search import is_search_table
from tests.conftest import BACKEND

POSTGRESQL_ONLY_INDEXES = {**POSTGRESQL_CODE_POINT_INDEXES, **POSTGRESQL_TRIGRAM_INDEXES}


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": not_backend_only}
    )
    return list(compare_metadata(context, Base.metadata))


def not_backend_only(obj: Any, name: str | None, type_: str, *_args: Any) -> bool:
    """Not one of PostgreSQL's own indexes nor SQLite's search table (and its shadow tables)."""
    if type_ == "table":
        return not is_search_table(name or "")
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


def describe(connection: Connection) -> dict[str, Any]:
    """A backend-neutral description: columns, nullability, keys, indexes, foreign keys."""
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version" or is_search_table(table):
            continue
        schema[table] = {
            "columns": [(c["name"], c["nullable"]) for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]))
                for i in inspector.get_indexes(table)
                if not i.get("unique") and i["name"] not in POSTGRESQL_ONLY_INDEXES
            ),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in inspector.get_foreign_keys(table)
            ),
        }
    return schema


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_migrating_twice_is_a_no_op(engine: AsyncEngine) -> None:
    await migrate(engine)
    async with engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_builtin_roles_are_seeded(session: AsyncSession) -> None:
    names = set(await session.scalars(select(Role.name)))
    assert names == {name for name, _, _ in BUILTIN_ROLES}


async def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 5000
    finally:
        await engine.dispose()


@pytest.mark.skipif(BACKEND != "postgresql", reason="compares against PostgreSQL in the PG leg")
async def test_sqlite_and_postgresql_get_the_same_schema(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sqlite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    try:
        await migrate(sqlite)
        async with sqlite.connect() as connection:
            sqlite_schema = await connection.run_sync(describe)
    finally:
        await sqlite.dispose()
    async with engine.connect() as connection:
        postgres_schema = await connection.run_sync(describe)
    assert sqlite_schema == postgres_schema
    assert set(postgres_schema) == set(Base.metadata.tables)


@pytest.mark.skipif(
    BACKEND != "postgresql", reason="the code-point indexes exist on PostgreSQL only"
)
async def test_the_default_ordering_is_served_by_an_index(engine: AsyncEngine) -> None:
    """Without ix_users_username_c PostgreSQL would sort the whole table for every page."""
    async with engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            await connection.scalars(
                text('EXPLAIN SELECT id FROM users ORDER BY username COLLATE "C", id LIMIT 10')
            )
        )
    assert "ix_users_username_c" in plan
