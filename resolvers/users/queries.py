"""Queries of the users domain: ``me``, ``user(uuid)``, ``userToken(uuid)`` and the keyset-paged
``users``."""

from __future__ import annotations

from uuid import UUID

import strawberry

from gql_users.accounts import operations
from gql_users.accounts.callers import ensure_authenticated
from gql_users.accounts.errors import BadRequest, NotFound
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.keyset import (
    ensure_readable_sort_and_filter,
    list_users_keyset,
    position_of,
)
from gql_users.accounts.listing import ensure_can_list_users, get_visible_user
from gql_users.accounts.ordering import MAX_ORDER_KEYS, OrderKey, sort_columns
from gql_users.accounts.user_rows import UserRecord
from resolvers.context import Info
from resolvers.users.connections import PageInfo
from resolvers.users.cursors import MAX_CURSOR_LENGTH, encode_cursor
from resolvers.users.inputs import UserFilterInput, UserOrder
from resolvers.users.paging import DEFAULT_PAGE_SIZE, keyset_request
from resolvers.users.payloads import UserAuthToken
from resolvers.users.planning import columns_read, fields_of, plan_users, selected_below
from resolvers.users.types import User, UserConnection, UserEdge

TOO_MANY_ORDER_KEYS = f"orderBy: at most {MAX_ORDER_KEYS} ordering keys."


@strawberry.type
class UserQueries:
    @strawberry.field(description="The caller.")
    async def me(self, info: Info) -> User:
        context = info.context
        user = ensure_authenticated(context.caller)
        me = User.shaped(context, user, client_address=context.client_address)
        await plan_users(context, [me], selected_below(info))
        return me

    @strawberry.field(description="A user by uuid; null when it does not exist or is not visible.")
    async def user(self, info: Info, uuid: UUID) -> User | None:
        caller = info.context.caller
        ensure_authenticated(caller)
        try:
            async with info.context.database() as session:
                found = await get_visible_user(session, caller, uuid)
        except NotFound:
            return None
        user = User.shaped(info.context, found)
        await plan_users(info.context, [user], selected_below(info))
        return user

    @strawberry.field(
        description="A user's token, expired or not (staff only), as REST's "
        "GET /api/users/{uuid}/token/: FORBIDDEN for anyone else whatever the uuid, NOT_FOUND "
        "for an unknown user or one without a token."
    )
    async def user_token(self, info: Info, uuid: UUID) -> UserAuthToken | None:
        caller = info.context.caller
        async with info.context.database() as session:
            token_info = await operations.read_token(session, caller, uuid)
        return UserAuthToken.from_info(token_info)

    @strawberry.field(
        description="The users visible to the caller, filtered and ordered, paged by keyset "
        f"cursors. Without first or last a page holds {DEFAULT_PAGE_SIZE} users; first and "
        "last are capped by the server's maximum page size (100 by default). A cursor holds "
        f"at most {MAX_CURSOR_LENGTH:,} characters."
    )
    async def users(
        self,
        info: Info,
        filter: UserFilterInput | None = None,
        order_by: list[UserOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        offset: int | None = None,
    ) -> UserConnection:
        context = info.context
        ensure_can_list_users(context.caller)  # before the arguments are looked at, as REST
        if order_by is not None and len(order_by) > MAX_ORDER_KEYS:
            raise BadRequest(TOO_MANY_ORDER_KEYS)
        ordering: list[OrderKey] = [order.to_core() for order in order_by or []]
        user_filter = filter.to_core() if filter is not None else UserFilter()
        ensure_readable_sort_and_filter(context.caller, user_filter, ordering)
        columns = sort_columns(ordering)
        key = await context.cursor_secret.get()
        request = keyset_request(
            columns,
            first=first,
            after=after,
            last=last,
            before=before,
            offset=offset,
            max_page_size=context.settings.graphql_max_page_size,
            key=key,
        )
        selections = selected_below(info, "edges", "node")
        with_total = "totalCount" in fields_of(selected_below(info))
        async with context.database() as session:
            page = await list_users_keyset(
                session,
                context.caller,
                user_filter,
                ordering,
                request,
                columns_read(selections),
                with_total=with_total,
            )

        def cursor_of(user: UserRecord) -> str:
            return encode_cursor(position_of(user, page.columns), page.columns, key)

        nodes = User.shaped_all(context, page.users, items_on_page=len(page.users))
        edges = [UserEdge(node, cursor_of) for node in nodes]
        await plan_users(context, nodes, selections)
        page_info = PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return UserConnection(
            edges=edges, page_info=page_info, user_filter=user_filter, total=page.total
        )
