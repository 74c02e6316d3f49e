"""The customer and project read path: visibility, then filters, then ordering and keyset
paging, as the user list has them (docs/visibility.md#visible-customers-and-projects).

A customer or project list is ``visible_customers``/``visible_projects`` with the filters'
conditions added, ordered by ``SortColumn``s of its own model that end with its id, and paged
by ``keyset.fetch_window``: the same cursors, the same single statement per page.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller, ensure_authenticated
from gql_users.accounts.filters import icontains, typed_filter_values
from gql_users.accounts.keyset import KeysetRequest, Window, fetch_window
from gql_users.accounts.ordering import SortColumn, sort_columns
from gql_users.accounts.organisations import get_visible_customer, get_visible_project
from gql_users.accounts.visibility import visible_customers, visible_projects
from gql_users.db.models import Customer, Project, Role


class ScopeKind(enum.StrEnum):
    CUSTOMER = "customer"
    PROJECT = "project"

    @property
    def model(self) -> type[Customer] | type[Project]:
        return Customer if self is ScopeKind.CUSTOMER else Project


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """The filters of the customer and project lists; None means "no filter".

    ``name`` and ``description`` match a case-insensitive substring, ``abbreviation``
    (customers only) exactly; ``customer_uuid`` (projects only) keeps one customer's projects.
    """

    name: str | None = None
    abbreviation: str | None = None
    description: str | None = None
    customer_uuid: uuid.UUID | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, object]) -> ScopeFilter:
        """Build from typed values, normalised as ``UserFilter.from_values`` normalises its
        own (empty means no filter; NUL and values over ``MAX_FILTER_LENGTH`` refused).

        Raises:
            ValidationFailed: one entry per refused filter.
        """
        return cls(**typed_filter_values(values))  # type: ignore[arg-type]

    def conditions(self, model: type[Customer] | type[Project]) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.name is not None:
            conditions.append(icontains(model.name, self.name))
        if self.description is not None:
            conditions.append(icontains(model.description, self.description))
        if self.abbreviation is not None and model is Customer:
            conditions.append(Customer.abbreviation == self.abbreviation)
        if self.customer_uuid is not None and model is Project:
            conditions.append(Project.customer_id.in_(_customer_ids(self.customer_uuid)))
        return conditions


def _customer_ids(customer_uuid: uuid.UUID) -> Select[int]:
    """The id of the customer with this uuid (visibility is the outer list's)."""
    return select(Customer.id).where(Customer.uuid == customer_uuid)


SCOPE_ORDERINGS: dict[ScopeKind, dict[str, tuple[str, ...]]] = {
    ScopeKind.CUSTOMER: {"name": ("name",), "abbreviation": ("abbreviation",)},
    ScopeKind.PROJECT: {"name": ("name",)},
}
"""The ordering names of each list and the model attributes they sort by. Only text columns:
a cursor carries its row's sort values as JSON."""


@dataclass(frozen=True, slots=True)
class ScopeOrderKey:
    """One ordering key of a customer or project list; ascending unless ``descending``."""

    kind: ScopeKind
    name: str
    descending: bool = False

    def __post_init__(self) -> None:
        if self.name not in SCOPE_ORDERINGS[self.kind]:
            raise ValueError(f"{self.name!r} is not an ordering of {self.kind} lists")

    @property
    def sort_columns(self) -> tuple[SortColumn, ...]:
        model = self.kind.model
        return tuple(
            SortColumn(attribute, self.descending, model)
            for attribute in SCOPE_ORDERINGS[self.kind][self.name]
        )


def scope_sort_columns(kind: ScopeKind, ordering: Sequence[ScopeOrderKey]) -> list[SortColumn]:
    """The columns of a customer or project list: the keys (name ascending when none), then
    the id."""
    default = (ScopeOrderKey(kind, "name"),)
    return sort_columns(ordering, default, SortColumn("id", model=kind.model))


def visible_scopes(caller: Caller, kind: ScopeKind) -> Select[Customer] | Select[Project]:
    return visible_customers(caller) if kind is ScopeKind.CUSTOMER else visible_projects(caller)


def filtered_scopes(
    caller: Caller, kind: ScopeKind, scope_filter: ScopeFilter | None = None
) -> Select[Customer] | Select[Project]:
    """The customers or projects visible to ``caller`` and matching ``scope_filter``."""
    statement = visible_scopes(caller, kind)
    if scope_filter is not None:
        statement = statement.where(*scope_filter.conditions(kind.model))
    return statement


async def list_scopes_keyset(
    session: AsyncSession,
    caller: Caller,
    kind: ScopeKind,
    scope_filter: ScopeFilter,
    columns: Sequence[SortColumn],
    request: KeysetRequest,
) -> Window[Any]:
    """One page of the customers or projects visible to ``caller``; one statement.

    Args:
        columns: from ``scope_sort_columns`` for the same ``kind``.
        request: the window, direction, limit and offset, as for users.

    Raises:
        NotAuthenticated: anonymous caller (as the user list).
    """
    ensure_authenticated(caller)
    statement: Select[Any] = filtered_scopes(caller, kind, scope_filter)
    return await fetch_window(session, statement, columns, request)


async def count_scopes(
    session: AsyncSession, caller: Caller, kind: ScopeKind, scope_filter: ScopeFilter
) -> int:
    """How many customers or projects the whole filtered list holds; one statement.

    Raises:
        NotAuthenticated: anonymous caller.
    """
    ensure_authenticated(caller)
    model = kind.model
    statement = filtered_scopes(caller, kind, scope_filter).with_only_columns(func.count(model.id))
    return int(await session.scalar(statement) or 0)


async def get_visible_scope(
    session: AsyncSession, caller: Caller, kind: ScopeKind, scope_uuid: uuid.UUID | str
) -> Customer | Project:
    """The customer or project with this uuid, if ``caller`` may see it: the administration
    core's lookup, which every write makes first.

    Raises:
        NotFound: unknown, invisible, or a malformed uuid (alike, as for users).
    """
    if kind is ScopeKind.CUSTOMER:
        return await get_visible_customer(session, caller, scope_uuid)
    return await get_visible_project(session, caller, scope_uuid)


async def list_roles(session: AsyncSession, caller: Caller) -> list[Role]:
    """Every role, by name: what may be granted, and what ``permissions`` name.

    Raises:
        NotAuthenticated: anonymous caller.
    """
    ensure_authenticated(caller)
    return list((await session.scalars(select(Role).order_by(Role.name))).all())
