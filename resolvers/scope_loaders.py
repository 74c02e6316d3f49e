"""Per-request DataLoaders of the graph around users: the lists one step below a page.

A nested list's key is ``(parent id, Slice)``: the parent and which part of its list to load
(``first`` and ``after``). A batch groups its keys by slice and makes one call of the core's
``scope_links`` per distinct slice, which is one SQL statement for any number of parents; a
document asks each nested field with one set of arguments, so a level of the graph costs one
statement whatever the page size. Counts (``totalCount``) are one statement per batch too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gql_users.accounts import scope_links
from gql_users.accounts.callers import Caller
from gql_users.accounts.permissions import PermissionRow
from gql_users.accounts.scope_links import Part, Slice
from gql_users.accounts.scopes import ScopeKind
from gql_users.db.models import Project

Item = TypeVar("Item")
SliceKey = tuple[int, Slice]


def _by_slice(
    lock: asyncio.Lock,
    load: Callable[[list[int], Slice], Awaitable[dict[int, Part[Item]]]],
) -> DataLoader[SliceKey, Part[Item]]:
    async def batch(keys: list[SliceKey]) -> list[Part[Item]]:
        parents: dict[Slice, list[int]] = {}
        for parent_id, sliced in keys:
            parents.setdefault(sliced, []).append(parent_id)
        loaded: dict[SliceKey, Part[Item]] = {}
        async with lock:
            for sliced, parent_ids in parents.items():
                parts = await load(parent_ids, sliced)
                loaded.update({(parent_id, sliced): parts[parent_id] for parent_id in parent_ids})
        return [loaded[key] for key in keys]

    return DataLoader(batch)


def _counts(
    lock: asyncio.Lock, count: Callable[[list[int]], Awaitable[dict[int, int]]]
) -> DataLoader[int, int]:
    async def batch(parent_ids: list[int]) -> list[int]:
        async with lock:
            counted = await count(parent_ids)
        return [counted[parent_id] for parent_id in parent_ids]

    return DataLoader(batch)


@dataclass(frozen=True, slots=True)
class ScopeLoaders:
    """``permissions`` and ``held_scopes`` (a user's customers or projects) per scope kind;
    each list has its count beside it."""

    projects_of_customers: DataLoader[SliceKey, Part[Project]]
    project_counts: DataLoader[int, int]
    permissions: dict[ScopeKind, DataLoader[SliceKey, Part[PermissionRow]]]
    permission_counts: dict[ScopeKind, DataLoader[int, int]]
    held_scopes: dict[ScopeKind, DataLoader[SliceKey, Part[Any]]]
    held_scope_counts: dict[ScopeKind, DataLoader[int, int]]

    @classmethod
    def build(cls, session: AsyncSession, caller: Caller, lock: asyncio.Lock) -> ScopeLoaders:
        def per_kind(function: Callable[..., Awaitable[Any]], kind: ScopeKind) -> Any:
            async def call(ids: Sequence[int], *rest: Any) -> Any:
                return await function(session, caller, kind, ids, *rest)

            return call

        async def projects(ids: list[int], sliced: Slice) -> dict[int, Part[Project]]:
            return await scope_links.projects_of_customers(session, caller, ids, sliced)

        async def project_counts(ids: list[int]) -> dict[int, int]:
            return await scope_links.count_projects_of_customers(session, caller, ids)

        links = scope_links
        return cls(
            projects_of_customers=_by_slice(lock, projects),
            project_counts=_counts(lock, project_counts),
            permissions={
                kind: _by_slice(lock, per_kind(links.permissions_of_scopes, kind))
                for kind in ScopeKind
            },
            permission_counts={
                kind: _counts(lock, per_kind(links.count_permissions_of_scopes, kind))
                for kind in ScopeKind
            },
            held_scopes={
                kind: _by_slice(lock, per_kind(links.scopes_of_users, kind)) for kind in ScopeKind
            },
            held_scope_counts={
                kind: _counts(lock, per_kind(links.count_scopes_of_users, kind))
                for kind in ScopeKind
            },
        )

    def forget_everything(self) -> None:
        """Drop every cached list and count, after a mutation changed the database."""
        loaders: list[DataLoader[Any, Any]] = [self.projects_of_customers, self.project_counts]
        for per_kind in (
            self.permissions,
            self.permission_counts,
            self.held_scopes,
            self.held_scope_counts,
        ):
            loaders += per_kind.values()
        for loader in loaders:
            loader.clear_all()
