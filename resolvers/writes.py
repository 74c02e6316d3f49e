"""What every mutation does around a core write, whatever its domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import Base
from resolvers.context import Context


@asynccontextmanager
async def core_write(context: Context) -> AsyncIterator[AsyncSession]:
    """Hold the request's session for one mutation.

    Afterwards the DataLoader caches are emptied, so the payload (and any later mutation of
    the same document) reads the new state. Some core errors roll the session back, which
    expires every loaded object, the caller's own user included; the caller is reloaded
    then, because the payload and the next mutation still need to know who is calling.
    """
    async with context.database() as session:
        try:
            yield session
        finally:
            context.loaders.forget_everything()
            context.scope_loaders.forget_everything()
            caller = context.caller
            held: list[Base | None] = [caller.user, caller.impersonator, caller.token]
            for loaded in held:
                if loaded is not None and inspect(loaded).expired_attributes:
                    await session.refresh(loaded)
