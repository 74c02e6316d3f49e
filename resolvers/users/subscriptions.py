"""Subscriptions of the users domain, over ``graphql-transport-ws`` (docs/graphql.md#subscriptions).

Each one follows the core's ``gql_users.accounts.live.watch``: an event of the hub is re-read
with the subscriber's own visibility, and the user is shaped for them as ``user(uuid)`` would
show it. A subscriber who may not see the user receives nothing.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry

from gql_users.accounts.callers import ensure_authenticated
from gql_users.accounts.errors import NotAuthenticated
from gql_users.accounts.live import USER_KINDS, Change, Watch, watch
from gql_users.events import Kind
from resolvers.context import Info
from resolvers.users.types import User

NOT_OVER_WEBSOCKET = "Subscriptions are served over WebSocket (graphql-transport-ws) only."


@strawberry.enum(description="What happened to a user.")
class UserChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"


@strawberry.type(description="A change of a user, as the subscriber may see the user now.")
class UserChange:
    kind: UserChangeKind
    uuid: UUID
    user: User | None = strawberry.field(
        description="The user after the change; null when it is gone from your view (deleted, "
        "or deactivated while you see active users only)."
    )


@strawberry.type(description="The roles of a user changed.")
class PermissionsChange:
    user_uuid: UUID
    user: User = strawberry.field(description="The user, with its permissions as they are now.")


async def _changes(info: Info, what: Watch) -> AsyncGenerator[Change]:
    """The changes ``what`` names for the connection's subscriber; each one's session and
    caller become the context's while its fields resolve."""
    context = info.context
    live = context.live
    if live is None or live.key is None:  # over HTTP the operation is refused before this
        raise NotAuthenticated(NOT_OVER_WEBSOCKET)
    user = ensure_authenticated(context.caller)
    with live.counts.hold(user.id):
        async for change in watch(live.sessions, live.hub, live.key, what):
            context.use(change.session, change.caller)
            yield change


def _shaped(info: Info, change: Change) -> User | None:
    """The changed user as the subscriber may see it (the context's caller is theirs by now)."""
    return None if change.user is None else User.shaped(info.context, change.user)


@strawberry.type
class UserSubscriptions:
    @strawberry.subscription(
        description="Changes of one user (created, updated, deactivated, deleted; a change of "
        "its roles is an update), while you may see it."
    )
    async def user_changed(self, info: Info, uuid: UUID) -> AsyncGenerator[UserChange]:
        async for change in _changes(info, Watch(USER_KINDS, uuid)):
            yield UserChange(
                kind=UserChangeKind(change.kind.value), uuid=uuid, user=_shaped(info, change)
            )

    @strawberry.subscription(description="Changes of every user you may see.")
    async def users_changed(self, info: Info) -> AsyncGenerator[UserChange]:
        async for change in _changes(info, Watch(USER_KINDS)):
            yield UserChange(
                kind=UserChangeKind(change.kind.value),
                uuid=change.user_uuid,
                user=_shaped(info, change),
            )

    @strawberry.subscription(description="Changes of the roles of one user you may see.")
    async def permissions_changed(
        self, info: Info, user_uuid: UUID
    ) -> AsyncGenerator[PermissionsChange]:
        async for change in _changes(info, Watch({Kind.PERMISSIONS}, user_uuid)):
            if change.user is not None:
                shaped = User.shaped(info.context, change.user)
                yield PermissionsChange(user_uuid=user_uuid, user=shaped)
