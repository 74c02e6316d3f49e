"""Secrets the service makes for itself and keeps in the database (``server_secrets``).

A secret that is not configured is generated on first use and stored, so that every process
serving one database (several workers, several hosts) signs and checks with the same value.
"""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gql_users.db.conflicts import dialect_insert
from gql_users.db.models import ServerSecret, utcnow

CURSOR_KEY = "cursor"
"""The key that signs GraphQL cursors (``resolvers/users/cursors.py``)."""

SECRET_BYTES = 32
"""Entropy of a generated secret (256 bits, the size of an HMAC-SHA256 key)."""


async def stored_secret(engine: AsyncEngine, name: str) -> str:
    """The stored secret called ``name``, generated now if the database has none yet.

    Insert-if-absent, then read, in one transaction: when two processes start together, one
    insert wins, the other does nothing (waiting for the winner's commit on PostgreSQL,
    for the write lock on SQLite) and both read the winner's value.
    """
    async with engine.begin() as connection:
        insert = dialect_insert(connection)
        await connection.execute(
            insert(ServerSecret)
            .values(name=name, value=secrets.token_hex(SECRET_BYTES), created=utcnow())
            .on_conflict_do_nothing(index_elements=[ServerSecret.name])
        )
        value = await connection.scalar(select(ServerSecret.value).where(ServerSecret.name == name))
    assert value is not None, "the row was inserted or already there"
    return value


class ProcessSecret:
    """A secret read once per process: the configured value, else the stored one.

    The database is asked on first use rather than at start-up, so a process that never
    needs the secret never touches the table; later uses get the cached bytes.
    """

    def __init__(self, engine: AsyncEngine, name: str, configured: str = "") -> None:
        self._engine = engine
        self._name = name
        self._value: bytes | None = configured.encode() if configured else None
        self._lock = asyncio.Lock()

    async def get(self) -> bytes:
        if self._value is None:
            async with self._lock:
                if self._value is None:
                    self._value = (await stored_secret(self._engine, self._name)).encode()
        return self._value
