"""Live changes for one subscriber: the events of the hub, re-read with the subscriber's own
visibility and field shaping (docs/graphql.md#subscriptions).

A subscriber is a token key. At every event it concerns, the key is checked again (one
statement, no write): a token that was deleted (logout), replaced (refresh), has expired, or
whose user was deactivated or deleted ends the subscription with ``AuthenticationFailed``. A
timer does the same at the token's expiry, so a subscription never outlives its token even when
nothing happens; a token that slid meanwhile (other requests) re-arms the timer instead.

``watch`` yields a ``Change`` for each event the subscriber may see, with the session it was
read in, open until the subscriber asks for the next one (the GraphQL fields resolve in it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import AccountsError, NotFound
from gql_users.accounts.listing import get_visible_user
from gql_users.accounts.tokens import token_expires_at, token_owner
from gql_users.db.models import User, utcnow
from gql_users.events import Event, Hub, Kind
from gql_users.events.hub import Notice

USER_KINDS = frozenset({Kind.CREATED, Kind.UPDATED, Kind.DEACTIVATED, Kind.DELETED})
"""What ``userChanged`` and ``usersChanged`` report (a change of roles as ``UPDATED``)."""
GONE_KINDS = frozenset({Kind.DEACTIVATED, Kind.DELETED})
EXPIRY_MARGIN = 0.05
"""Seconds after the expiry time at which the timer checks the token: a token is expired
strictly after it."""
FELL_BEHIND = "Too many changes at once: the subscription fell behind. Subscribe again."
TOO_MANY_PER_CONNECTION = "At most {limit} subscriptions per connection."
TOO_MANY_PER_USER = "At most {limit} subscriptions per user at once."


class SubscriptionLimit(AccountsError):
    """Too many subscriptions open at once."""

    code = "TOO_MANY_SUBSCRIPTIONS"


class FellBehind(AccountsError):
    code = "FELL_BEHIND"

    def __init__(self) -> None:
        super().__init__(FELL_BEHIND)


class SubscriberCounts:
    """Subscriptions open per user in this process (``GQL_USERS_GRAPHQL_SUBSCRIPTIONS_PER_USER``;
    each worker counts its own)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[int] = Counter()

    @contextmanager
    def hold(self, user_id: int) -> Iterator[None]:
        """One more subscription of ``user_id`` for the block.

        Raises:
            SubscriptionLimit: the user already holds ``limit``.
        """
        if self.open[user_id] >= self.limit:
            raise SubscriptionLimit(TOO_MANY_PER_USER.format(limit=self.limit))
        self.open[user_id] += 1
        try:
            yield
        finally:
            self.open[user_id] -= 1
            if not self.open[user_id]:
                del self.open[user_id]


@dataclass(frozen=True, slots=True)
class Change:
    """A change the subscriber may see. ``user`` is the user as the subscriber may see it
    now, or None when it is gone from their view (deleted, or deactivated for a caller who
    sees active users only): only subscribers who saw it before are told."""

    kind: Kind
    user_uuid: uuid.UUID
    user: User | None
    caller: Caller
    session: AsyncSession


@dataclass(frozen=True, slots=True)
class Watch:
    """What a subscription follows: ``kinds`` of events, of one user or of all."""

    kinds: Collection[Kind]
    user_uuid: uuid.UUID | None = None

    def reported(self, kind: Kind) -> Kind | None:
        """How an event of ``kind`` is reported; None when it is not followed."""
        if kind in self.kinds:
            return kind
        if kind is Kind.PERMISSIONS and Kind.UPDATED in self.kinds:
            return Kind.UPDATED
        return None

    def wants(self, event: Event) -> bool:
        followed = self.user_uuid is None or event.user == self.user_uuid
        return followed and self.reported(event.kind) is not None


async def subscriber(session: AsyncSession, key: str, now: datetime | None = None) -> Caller:
    """The caller a token key stands for now, without sliding the token.

    Raises:
        AuthenticationFailed: unknown (logged out, refreshed away) or expired key, inactive or
            deleted owner.
    """
    user, token = await token_owner(session, key, now or utcnow())
    return Caller(user=user, token=token)


async def visible_or_none(
    session: AsyncSession, caller: Caller, user_uuid: uuid.UUID
) -> User | None:
    try:
        return await get_visible_user(session, caller, user_uuid)
    except NotFound:
        return None


def seconds_left(caller: Caller, now: datetime) -> float | None:
    """Seconds until the caller's token expires (None: it never does)."""
    assert caller.user is not None and caller.token is not None
    expires = token_expires_at(caller.token.created, caller.user.token_lifetime)
    if expires is None:
        return None
    return max(0.0, (expires - now).total_seconds()) + EXPIRY_MARGIN


async def watch(
    sessions: async_sessionmaker[AsyncSession],
    hub: Hub,
    key: str,
    what: Watch,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Change]:
    """The changes ``what`` names that the subscriber with ``key`` may see, until the key stops
    authenticating.

    Raises:
        AuthenticationFailed: the key no longer authenticates (the subscription's end).
        FellBehind: the subscriber did not take changes as fast as they came.
    """
    async with hub.subscribe() as events:
        async with sessions() as session:
            caller = await subscriber(session, key, clock())
            seen = (
                what.user_uuid is not None
                and await visible_or_none(session, caller, what.user_uuid) is not None
            )
        assert caller.user is not None
        me = caller.user.uuid
        while True:
            try:
                item = await asyncio.wait_for(events.get(), seconds_left(caller, clock()))
            except TimeoutError:  # the token's expiry: ends it unless it slid meanwhile
                item = Event(Kind.TOKENS, me)
            if item is Notice.OVERFLOW:
                raise FellBehind()
            if item is Notice.GAP:
                item = Event(Kind.TOKENS, me)
            assert isinstance(item, Event)
            own = item.user == me
            if not (what.wants(item) or own):
                continue
            async with sessions() as session:
                caller = await subscriber(session, key, clock())
                kind = what.reported(item.kind)
                if kind is None or not what.wants(item):
                    continue
                user = await visible_or_none(session, caller, item.user)
                single = what.user_uuid is not None
                tell_gone = kind in GONE_KINDS and (caller.is_privileged or (single and seen))
                seen = single and user is not None
                if user is not None or tell_gone:
                    yield Change(kind, item.user, user, caller, session)
