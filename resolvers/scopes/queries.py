"""Queries of the graph around users: ``customer``, ``customers``, ``project``, ``projects``,
``roles`` and the Relay ``node(id:)``. Every answer is the caller's visible set
(docs/visibility.md#visible-customers-and-projects); an invisible object is null, as an
unknown one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import strawberry

from gql_users.accounts.callers import ensure_authenticated
from gql_users.accounts.errors import BadRequest, NotFound
from gql_users.accounts.keyset import position_of
from gql_users.accounts.listing import get_visible_user
from gql_users.accounts.scope_links import get_visible_permission
from gql_users.accounts.scopes import (
    SCOPE_ORDERINGS,
    ScopeFilter,
    ScopeKind,
    ScopeOrderKey,
    count_scopes,
    get_visible_scope,
    list_roles,
    list_scopes_keyset,
    scope_sort_columns,
)
from gql_users.db import models
from resolvers.context import Info
from resolvers.node import Node, parse_global_id
from resolvers.scopes.inputs import (
    CustomerFilterInput,
    CustomerOrder,
    ProjectFilterInput,
    ProjectOrder,
)
from resolvers.users.connections import Connection, connection
from resolvers.users.paging import DEFAULT_PAGE_SIZE, keyset_request
from resolvers.users.types import Customer, Permission, Project, Role, User

TOO_MANY_ORDER_KEYS = "orderBy: at most {limit} ordering keys."
LIST_DESCRIPTION = (
    "The {what} visible to you, filtered and ordered (name ascending by default), paged by "
    f"keyset cursors as users are: {DEFAULT_PAGE_SIZE} per page without first or last, both "
    "capped by the server's maximum page size."
)


async def _scope_page(
    info: Info,
    kind: ScopeKind,
    scope_filter: ScopeFilter,
    ordering: Sequence[ScopeOrderKey],
    node: Callable[[Any], Any],
    **paging: Any,
) -> Connection[Any]:
    context = info.context
    ensure_authenticated(context.caller)
    limit = len(SCOPE_ORDERINGS[kind])
    if len(ordering) > limit:
        raise BadRequest(TOO_MANY_ORDER_KEYS.format(limit=limit))
    columns = scope_sort_columns(kind, ordering)
    key = await context.cursor_secret.get()
    request = keyset_request(
        columns,
        offset=None,
        max_page_size=context.settings.graphql_max_page_size,
        key=key,
        **paging,
    )
    async with context.database() as session:
        window = await list_scopes_keyset(
            session, context.caller, kind, scope_filter, columns, request
        )

    async def count(info: Info) -> int:
        async with info.context.database() as session:
            return await count_scopes(session, info.context.caller, kind, scope_filter)

    return connection(
        window.rows,
        has_next=window.has_next,
        has_previous=window.has_previous,
        node=node,
        position=lambda row: position_of(row, columns),
        columns=columns,
        key=key,
        counter=count,
    )


async def _visible_scope(info: Info, kind: ScopeKind, uuid: UUID) -> Any:
    """The customer or project, or None when unknown or invisible."""
    context = info.context
    ensure_authenticated(context.caller)
    try:
        async with context.database() as session:
            return await get_visible_scope(session, context.caller, kind, uuid)
    except NotFound:
        return None


@strawberry.type
class ScopeQueries:
    @strawberry.field(description="A customer by uuid; null when unknown or not visible to you.")
    async def customer(self, info: Info, uuid: UUID) -> Customer | None:
        found = await _visible_scope(info, ScopeKind.CUSTOMER, uuid)
        return Customer.from_model(found) if found is not None else None

    @strawberry.field(description=LIST_DESCRIPTION.format(what="customers"))
    async def customers(
        self,
        info: Info,
        filter: CustomerFilterInput | None = None,
        order_by: list[CustomerOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Customer]:
        scope_filter = filter.to_core() if filter is not None else ScopeFilter()
        ordering = [order.to_core() for order in order_by or []]
        return await _scope_page(
            info,
            ScopeKind.CUSTOMER,
            scope_filter,
            ordering,
            Customer.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="A project by uuid; null when unknown or not visible to you.")
    async def project(self, info: Info, uuid: UUID) -> Project | None:
        found = await _visible_scope(info, ScopeKind.PROJECT, uuid)
        return Project.from_model(found) if found is not None else None

    @strawberry.field(description=LIST_DESCRIPTION.format(what="projects"))
    async def projects(
        self,
        info: Info,
        filter: ProjectFilterInput | None = None,
        order_by: list[ProjectOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Project]:
        scope_filter = filter.to_core() if filter is not None else ScopeFilter()
        ordering = [order.to_core() for order in order_by or []]
        return await _scope_page(
            info,
            ScopeKind.PROJECT,
            scope_filter,
            ordering,
            Project.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Every role, by name.")
    async def roles(self, info: Info) -> list[Role]:
        async with info.context.database() as session:
            return [
                Role.from_model(role) for role in await list_roles(session, info.context.caller)
            ]

    @strawberry.field(
        description="The User, Customer, Project or Permission with this global id; null when "
        "unknown or not visible to you. A malformed id is a BAD_REQUEST error."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        context = info.context
        caller = context.caller
        ensure_authenticated(caller)
        type_name, uuid = parse_global_id(id)
        try:
            async with context.database() as session:
                if type_name == "User":
                    return User.shaped(context, await get_visible_user(session, caller, uuid))
                if type_name == "Permission":
                    row = await get_visible_permission(session, caller, uuid)
                    return Permission(context, row)
                kind = ScopeKind.CUSTOMER if type_name == "Customer" else ScopeKind.PROJECT
                found = await get_visible_scope(session, caller, kind, uuid)
        except NotFound:
            return None
        if isinstance(found, models.Customer):
            return Customer.from_model(found)
        return Project.from_model(found)
