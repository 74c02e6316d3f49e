"""What lies one step from a page of customers, projects or users, loaded for the whole page
at once: the projects of customers, the permissions of customers and projects, and the
customers and projects users hold roles in (docs/visibility.md#visible-customers-and-projects).

Each function answers for any number of parents with one statement: the items of every parent
are ranked by a window function (``row_number() OVER (PARTITION BY parent ORDER BY ...)``)
and only the first ``limit + 1`` of each are kept, so a page of parents costs what one parent
costs, and no parent's list can make the statement read more than its slice. A slice may start
after a keyset position, as the top-level lists do (``keyset.keyset_condition``): the same
position applies to each parent's list.

Visibility is the caller's throughout: a customer's projects are those the caller may see, a
scope's permissions those whose holder the caller may see, a user's customers and projects
those the caller may see.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import NotFound
from gql_users.accounts.grants import is_current
from gql_users.accounts.keyset import Position, keyset_condition
from gql_users.accounts.ordering import SortColumn
from gql_users.accounts.permissions import PermissionRow, permission_rows, to_permission_row
from gql_users.accounts.scopes import ScopeKind, visible_scopes
from gql_users.accounts.visibility import visible_users
from gql_users.db.models import Customer, Project, User, UserRole

Item = TypeVar("Item")

PROJECTS_OF_CUSTOMER = (SortColumn("name", model=Project), SortColumn("id", model=Project))
"""A customer's projects, by name."""
SCOPES_OF_USER: dict[ScopeKind, tuple[SortColumn, ...]] = {
    kind: (SortColumn("name", model=kind.model), SortColumn("id", model=kind.model))
    for kind in ScopeKind
}
"""A user's customers or projects, by name."""
PERMISSIONS_OF_SCOPE = (SortColumn("id", model=UserRole),)
"""A scope's permissions, oldest grant first."""


@dataclass(frozen=True, slots=True)
class Slice:
    """The part of each parent's list to load: at most ``limit`` items after ``after``."""

    limit: int
    after: Position | None = None


@dataclass(frozen=True, slots=True)
class Part(Generic[Item]):
    """One parent's slice, in list order, and whether its list goes on either side."""

    items: list[Item]
    has_next: bool
    has_previous: bool


def _parts(
    found: dict[int, list[Item]], parent_ids: Sequence[int], sliced: Slice
) -> dict[int, Part[Item]]:
    """A part for every parent (an empty one when nothing was found), trimmed to the limit."""
    return {
        parent_id: Part(
            items=found.get(parent_id, [])[: sliced.limit],
            has_next=len(found.get(parent_id, [])) > sliced.limit,
            has_previous=sliced.after is not None,
        )
        for parent_id in parent_ids
    }


def _ranked(
    statement: Select[Any],
    parent: ColumnElement[int],
    columns: Sequence[SortColumn],
    sliced: Slice,
) -> Any:
    """``statement`` with its rows numbered within each parent, from ``sliced.after`` on,
    as a subquery with ``parent_id`` and ``rank`` columns."""
    if sliced.after is not None:
        statement = statement.where(keyset_condition(columns, sliced.after, after=True))
    rank = func.row_number().over(partition_by=parent, order_by=[c.clause for c in columns])
    return statement.add_columns(parent.label("parent_id"), rank.label("rank")).subquery("ranked")


async def _load_ranked(
    session: AsyncSession,
    model: type[Customer] | type[Project],
    statement: Select[Any],
    parent: ColumnElement[int],
    columns: Sequence[SortColumn],
    parent_ids: Sequence[int],
    sliced: Slice,
) -> dict[int, Part[Any]]:
    ranked = _ranked(statement, parent, columns, sliced)
    row = aliased(model, ranked)
    query = (
        select(row, ranked.c.parent_id)
        .where(ranked.c.rank <= sliced.limit + 1)
        .order_by(ranked.c.parent_id, ranked.c.rank)
    )
    found: dict[int, list[Any]] = defaultdict(list)
    for item, parent_id in (await session.execute(query)).all():
        found[parent_id].append(item)
    return _parts(found, parent_ids, sliced)


async def projects_of_customers(
    session: AsyncSession, caller: Caller, customer_ids: Sequence[int], sliced: Slice
) -> dict[int, Part[Project]]:
    """The projects of each customer that ``caller`` may see, by name; one statement.

    Returns:
        A part for every requested id (empty for a customer with no visible project).
    """
    if not customer_ids:
        return {}
    statement = visible_scopes(caller, ScopeKind.PROJECT).where(
        Project.customer_id.in_(customer_ids)
    )
    return await _load_ranked(
        session,
        Project,
        statement,
        Project.customer_id.expression,
        PROJECTS_OF_CUSTOMER,
        customer_ids,
        sliced,
    )


def _held_scopes(kind: ScopeKind, user_ids: Sequence[int]) -> Any:
    """(user, scope) pairs of the current ``kind``-level roles of ``user_ids``, each pair once
    however many roles the user holds there."""
    scope_id = UserRole.customer_id if kind is ScopeKind.CUSTOMER else UserRole.project_id
    return (
        select(UserRole.user_id.label("user_id"), scope_id.label("scope_id"))
        .where(is_current(UserRole), UserRole.user_id.in_(user_ids), scope_id.is_not(None))
        .distinct()
        .subquery("held")
    )


async def scopes_of_users(
    session: AsyncSession, caller: Caller, kind: ScopeKind, user_ids: Sequence[int], sliced: Slice
) -> dict[int, Part[Any]]:
    """The customers (or projects) where each user holds a current customer-level (or
    project-level) role, among those ``caller`` may see, by name; one statement."""
    if not user_ids:
        return {}
    held = _held_scopes(kind, user_ids)
    model = kind.model
    statement = visible_scopes(caller, kind).join(held, held.c.scope_id == model.id)
    return await _load_ranked(
        session, model, statement, held.c.user_id, SCOPES_OF_USER[kind], user_ids, sliced
    )


def _scope_column(kind: ScopeKind) -> Any:
    return UserRole.customer_id if kind is ScopeKind.CUSTOMER else UserRole.project_id


def _visible_grants(caller: Caller, kind: ScopeKind, scope_ids: Sequence[int]) -> Select[Any]:
    """Current grants in ``scope_ids`` whose holder ``caller`` may see."""
    return select(UserRole).where(
        is_current(UserRole),
        _scope_column(kind).in_(scope_ids),
        UserRole.user_id.in_(visible_users(caller).with_only_columns(User.id)),
    )


async def permissions_of_scopes(
    session: AsyncSession, caller: Caller, kind: ScopeKind, scope_ids: Sequence[int], sliced: Slice
) -> dict[int, Part[PermissionRow]]:
    """Who holds which current role in each customer (or project), oldest grant first,
    leaving out holders ``caller`` may not see; one statement.

    Only the scope's own grants count: a customer's permissions are its customer-level roles,
    not the roles in its projects (those are each project's permissions).
    """
    if not scope_ids:
        return {}
    ranked = _ranked(
        _visible_grants(caller, kind, scope_ids),
        _scope_column(kind),
        PERMISSIONS_OF_SCOPE,
        sliced,
    )
    page_ids = select(ranked.c.id).where(ranked.c.rank <= sliced.limit + 1)
    records = await session.execute(permission_rows().where(UserRole.id.in_(page_ids)))
    found: dict[int, list[PermissionRow]] = defaultdict(list)
    for row in sorted(map(to_permission_row, records), key=lambda row: row.id):
        found[row.scope_id].append(row)
    return _parts(found, scope_ids, sliced)


async def count_projects_of_customers(
    session: AsyncSession, caller: Caller, customer_ids: Sequence[int]
) -> dict[int, int]:
    """How many projects of each customer ``caller`` may see; one statement."""
    statement = (
        visible_scopes(caller, ScopeKind.PROJECT)
        .with_only_columns(Project.customer_id, func.count(Project.id))
        .where(Project.customer_id.in_(customer_ids))
        .group_by(Project.customer_id)
    )
    return await _counts(session, statement, customer_ids)


async def count_permissions_of_scopes(
    session: AsyncSession, caller: Caller, kind: ScopeKind, scope_ids: Sequence[int]
) -> dict[int, int]:
    """How many grants ``permissions_of_scopes`` would list for each scope; one statement."""
    scope = _scope_column(kind)
    statement = (
        _visible_grants(caller, kind, scope_ids)
        .with_only_columns(scope, func.count(UserRole.id))
        .group_by(scope)
    )
    return await _counts(session, statement, scope_ids)


async def count_scopes_of_users(
    session: AsyncSession, caller: Caller, kind: ScopeKind, user_ids: Sequence[int]
) -> dict[int, int]:
    """How many customers (or projects) ``scopes_of_users`` would list for each user."""
    held = _held_scopes(kind, user_ids)
    model = kind.model
    statement = (
        visible_scopes(caller, kind)
        .join(held, held.c.scope_id == model.id)
        .with_only_columns(held.c.user_id, func.count(model.id))
        .group_by(held.c.user_id)
    )
    return await _counts(session, statement, user_ids)


async def _counts(
    session: AsyncSession, statement: Select[*tuple[Any, ...]], parent_ids: Sequence[int]
) -> dict[int, int]:
    if not parent_ids:
        return {}
    counted = {parent_id: int(count) for parent_id, count in await session.execute(statement)}
    return {parent_id: counted.get(parent_id, 0) for parent_id in parent_ids}


async def get_visible_permission(
    session: AsyncSession, caller: Caller, permission_uuid: uuid.UUID
) -> PermissionRow:
    """The current permission with this uuid, if ``caller`` may see its holder (whoever sees
    a user sees all of their ``permissions``).

    Raises:
        NotFound: unknown, no longer current, or held by a user ``caller`` may not see.
    """
    statement = permission_rows().where(
        UserRole.uuid == permission_uuid,
        UserRole.user_id.in_(visible_users(caller).with_only_columns(User.id)),
    )
    record = (await session.execute(statement)).first()
    if record is None:
        raise NotFound()
    return to_permission_row(record)
