"""Keyset-paged connections of the graph around users: ``PageInfo``, and the generic
``Connection``/``Edge`` that become ``CustomerConnection``, ``ProjectConnection`` and
``PermissionConnection`` (Strawberry names a generic type after its node type).

A nested connection (a customer's ``projects``, a scope's ``permissions``, a user's
``customers``) takes ``first`` and ``after`` and loads one slice per parent through the
request's ``ScopeLoaders``, so a page of parents costs one statement per nested level.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from gql_users.accounts.keyset import Position
from gql_users.accounts.ordering import SortColumn
from gql_users.accounts.scope_links import Part, Slice
from resolvers.context import Info
from resolvers.scope_loaders import SliceKey
from resolvers.users.cursors import encode_cursor
from resolvers.users.paging import keyset_request

NodeType = TypeVar("NodeType")
Item = TypeVar("Item")


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    node: NodeType
    cursor: str = strawberry.field(description="Opaque; valid only with the same list and order.")


@strawberry.type(description="A page of a keyset-paged list.")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[Info], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds (all pages).")
    async def total_count(self, info: Info) -> int:
        return await self.counter(info)


def connection(
    items: Sequence[Item],
    *,
    has_next: bool,
    has_previous: bool,
    node: Callable[[Item], NodeType],
    position: Callable[[Item], Position],
    columns: Sequence[SortColumn],
    key: bytes,
    counter: Callable[[Info], Awaitable[int]],
) -> Connection[NodeType]:
    """A connection of ``items`` (in list order), each with its signed cursor."""
    edges = [
        Edge(node=node(item), cursor=encode_cursor(position(item), columns, key)) for item in items
    ]
    page_info = PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, counter=counter)


async def nested_connection(
    info: Info,
    *,
    parent_id: int,
    first: int | None,
    after: str | None,
    slices: DataLoader[SliceKey, Part[Item]],
    counts: DataLoader[int, int],
    columns: Sequence[SortColumn],
    node: Callable[[Item], NodeType],
    position: Callable[[Item], Position],
) -> Connection[NodeType]:
    """The slice of one parent's list that ``first`` and ``after`` name, through the loader
    that batches every parent of the page.

    Raises:
        BadRequest: a negative ``first`` or an unusable ``after``, as for ``users``.
    """
    context = info.context
    key = await context.cursor_secret.get()
    request = keyset_request(
        columns,
        first=first,
        after=after,
        last=None,
        before=None,
        offset=None,
        max_page_size=context.settings.graphql_max_page_size,
        key=key,
    )
    part = await slices.load((parent_id, Slice(request.limit, request.after)))

    async def count(_: Info) -> int:
        return await counts.load(parent_id)

    return connection(
        part.items,
        has_next=part.has_next,
        has_previous=part.has_previous,
        node=node,
        position=position,
        columns=columns,
        key=key,
        counter=count,
    )
