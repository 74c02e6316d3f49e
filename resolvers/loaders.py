"""Per-request DataLoaders of the users domain: one SQL statement per batch, whatever its size.

Each batch function answers for every key it is given (``None`` or ``[]`` where nothing
matches), in key order, as DataLoader requires. The rules and queries come from the core:
permissions, with their roles, customers and projects, from ``load_scoped_permissions``,
tokens from ``tokens_by_user``, pending emails from ``requested_emails``, and
``visible_users`` loads the rows of users as the caller may see them (``visible_users_by_id``)
so that a ``createdBy`` the caller may not see resolves to null. ``roles``, ``customers`` and
``projects`` load rows by id, for the objects a permission or a project refers to when they
were not loaded with it (a scope's permissions, a project's customer).

The ``users``, ``me`` and ``user`` queries do not wait for these: they plan what the document
selects and load it for the whole page at once (``resolvers/users/planning.py``), so the
loaders serve only the users nobody planned for (a mutation's payload).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gql_users.accounts.callers import Caller
from gql_users.accounts.email_change import requested_emails
from gql_users.accounts.permission_scopes import ScopedPermissions, load_scoped_permissions
from gql_users.accounts.permissions import PermissionRow
from gql_users.accounts.tokens import tokens_by_user
from gql_users.accounts.user_rows import UserRecord, visible_users_by_id
from gql_users.db.models import AuthToken, Customer, Project, Role

Row = TypeVar("Row", Role, Customer, Project)
Key = TypeVar("Key")
Value = TypeVar("Value")


def _serialised(
    lock: asyncio.Lock, batch: Callable[[list[Key]], Awaitable[Sequence[Value]]]
) -> Callable[[list[Key]], Awaitable[Sequence[Value]]]:
    """Run ``batch`` holding the request's session lock (one statement at a time)."""

    async def run(keys: list[Key]) -> Sequence[Value]:
        async with lock:
            return await batch(keys)

    return run


@dataclass(frozen=True, slots=True)
class UserLoaders:
    permissions: DataLoader[int, tuple[list[PermissionRow], ScopedPermissions]]
    roles: DataLoader[int, Role | None]
    customers: DataLoader[int, Customer | None]
    projects: DataLoader[int, Project | None]
    visible_users: DataLoader[int, UserRecord | None]
    tokens: DataLoader[int, AuthToken | None]
    requested_emails: DataLoader[int, str | None]

    @classmethod
    def build(cls, session: AsyncSession, caller: Caller, lock: asyncio.Lock) -> UserLoaders:
        async def permissions(
            user_ids: list[int],
        ) -> list[tuple[list[PermissionRow], ScopedPermissions]]:
            loaded = await load_scoped_permissions(session, user_ids)
            return [(loaded.by_user[user_id], loaded) for user_id in user_ids]

        def by_id(model: type[Row]) -> Callable[[list[int]], Awaitable[list[Any]]]:
            async def load(ids: list[int]) -> list[Any]:
                rows = (await session.scalars(select(model).where(model.id.in_(ids)))).all()
                found = {row.id: row for row in rows}
                return [found.get(wanted) for wanted in ids]

            return load

        async def visible_users(user_ids: list[int]) -> list[UserRecord | None]:
            found = await visible_users_by_id(session, caller, user_ids)
            return [found.get(user_id) for user_id in user_ids]

        async def tokens(user_ids: list[int]) -> list[AuthToken | None]:
            found = await tokens_by_user(session, user_ids)
            return [found.get(user_id) for user_id in user_ids]

        async def emails(user_ids: list[int]) -> list[str | None]:
            pending = await requested_emails(session, user_ids)
            return [pending.get(user_id) for user_id in user_ids]

        return cls(
            permissions=DataLoader(_serialised(lock, permissions)),
            roles=DataLoader(_serialised(lock, by_id(Role))),
            customers=DataLoader(_serialised(lock, by_id(Customer))),
            projects=DataLoader(_serialised(lock, by_id(Project))),
            visible_users=DataLoader(_serialised(lock, visible_users)),
            tokens=DataLoader(_serialised(lock, tokens)),
            requested_emails=DataLoader(_serialised(lock, emails)),
        )

    def forget_everything(self) -> None:
        """Drop every cached row, after a mutation changed the database: a later field of the
        same document (or the next mutation) must see the new state."""
        for loader in (
            self.permissions,
            self.roles,
            self.customers,
            self.projects,
            self.visible_users,
            self.tokens,
            self.requested_emails,
        ):
            loader.clear_all()
