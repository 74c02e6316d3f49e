"""Apply the Alembic history to a database (SQLite or PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@dataclass(frozen=True)
class MigrationResult:
    """The schema revision before and after a migration (``before`` is None on a new database)."""

    before: str | None
    after: str | None

    def describe(self) -> str:
        """One sentence for a terminal: what the migration did."""
        if self.before is None:
            return f"Created the schema at {self.after}."
        if self.before == self.after:
            return f"The schema is already current ({self.after})."
        return f"Upgraded the schema from {self.before} to {self.after}."


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@cache
def head_revision() -> str | None:
    """The newest revision of the migrations shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def migrate(engine: AsyncEngine, revision: str = "head") -> MigrationResult:
    """Upgrade the database behind ``engine`` to ``revision``; say from which revision to which."""

    def upgrade(connection: Connection) -> MigrationResult:
        before = current_revision(connection)
        command.upgrade(alembic_config(connection), revision)
        return MigrationResult(before, current_revision(connection))

    async with engine.begin() as connection:
        return await connection.run_sync(upgrade)
