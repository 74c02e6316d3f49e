"""The per-request GraphQL context: who calls, the database session, settings, loaders.

Built by the view's ``get_context`` for every request, never shared: DataLoaders cache per
request, so a loader kept at module or app level would serve one caller's rows to another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.remote import UserinfoSource
from gql_users.db.secrets import ProcessSecret
from gql_users.settings import Settings
from resolvers.loaders import UserLoaders
from resolvers.scope_loaders import ScopeLoaders


@dataclass(slots=True)
class Context:
    """Everything a resolver may use.

    ``session`` is the request's one ``AsyncSession``, which cannot run two statements at
    once; resolvers of sibling fields and DataLoader batches run concurrently, so every use
    goes through ``database()`` (the loaders do so themselves).
    """

    session: AsyncSession
    caller: Caller
    settings: Settings
    eduteams: UserinfoSource
    cursor_secret: ProcessSecret
    client_address: str | None
    """The caller's address (``gql_users.http.addresses``' one rule for it); None when unknown."""
    loaders: UserLoaders = field(init=False)
    scope_loaders: ScopeLoaders = field(init=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.loaders = UserLoaders.build(self.session, self.caller, self.lock)
        self.scope_loaders = ScopeLoaders.build(self.session, self.caller, self.lock)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[AsyncSession]:
        """The session, held exclusively for the block."""
        async with self.lock:
            yield self.session


Info = strawberry.Info[Context, None]
