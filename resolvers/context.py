"""The per-request GraphQL context: who calls, the database session, settings, loaders.

Built by the view's ``get_context`` for every request, never shared: DataLoaders cache per
request, so a loader kept at module or app level would serve one caller's rows to another.
A WebSocket connection gets one context, copied for each of its operations
(``for_operation``); a subscription renews its copy for every event it sends (``use``):
the caller and session of that event, fresh loaders.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gql_users.accounts.callers import Caller
from gql_users.accounts.live import SubscriberCounts
from gql_users.accounts.remote import UserinfoSource
from gql_users.db.secrets import ProcessSecret
from gql_users.events import Hub
from gql_users.settings import Settings
from resolvers.loaders import UserLoaders
from resolvers.scope_loaders import ScopeLoaders


@dataclass(slots=True)
class LiveConnection:
    """A WebSocket connection's means to follow changes: its own sessions per event (never the
    upgrade request's), the process's event hub and subscription counts, and the token key
    that ``connection_init`` authenticated."""

    sessions: async_sessionmaker[AsyncSession]
    hub: Hub
    counts: SubscriberCounts
    header_key: str | None
    """The key of the upgrade request's ``Authorization`` header, if it had one."""
    key: str | None = None


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
    live: LiveConnection | None = None
    """Set on WebSocket connections only."""
    connection_params: dict[str, object] | None = None
    """The payload of ``connection_init`` (WebSocket connections)."""
    loaders: UserLoaders = field(init=False)
    scope_loaders: ScopeLoaders = field(init=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.loaders = UserLoaders.build(self.session, self.caller, self.lock)
        self.scope_loaders = ScopeLoaders.build(self.session, self.caller, self.lock)

    def for_operation(self) -> Context:
        """A copy for one operation of a connection: its own lock and loaders."""
        return Context(
            session=self.session,
            caller=self.caller,
            settings=self.settings,
            eduteams=self.eduteams,
            cursor_secret=self.cursor_secret,
            client_address=self.client_address,
            live=self.live,
            connection_params=self.connection_params,
        )

    def use(self, session: AsyncSession, caller: Caller) -> None:
        """Resolve what follows with ``session`` and ``caller`` (a subscription's event)."""
        self.session = session
        self.caller = caller
        self.lock = asyncio.Lock()
        self.loaders = UserLoaders.build(session, caller, self.lock)
        self.scope_loaders = ScopeLoaders.build(session, caller, self.lock)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[AsyncSession]:
        """The session, held exclusively for the block."""
        async with self.lock:
            yield self.session


Info = strawberry.Info[Context, None]
