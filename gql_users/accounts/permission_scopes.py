"""Permissions with the role, the customer or project they are held in and the project's
customer, for any number of users in one statement.

GraphQL shows these as objects (``Permission.role``, ``scope``, ``customer``) with more fields
than the ``permissions`` of a REST user carry. Loading them with the permissions, rather
than by id afterwards, keeps a page of users with their permissions at one statement for the
whole permission graph. Which permissions are listed is ``permissions.permissions_statement``'s
rule, and its columns are read as ``to_permission_row`` reads them; this module only adds the
columns of the rows it already joins, and only those a caller asks for (``extra``): one that
reads none of them (the fields of the objects beyond their ids, uuids and names, and a
role's description) gets ``permissions_statement`` itself, REST's; and the columns of REST's
that it never reads (``omit``: ``permissions.OMITTABLE``) are left out of it. Every column
costs the database and the driver a value per row. Who granted each permission, as a
caller may see them, comes along when asked: from the same rows for a caller who sees every
user, else from one more statement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, cast
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.listing import cached_statement
from gql_users.accounts.permissions import (
    CREATOR,
    PERMISSION_COLUMNS,
    POSTGRESQL,
    PROJECT_CUSTOMER,
    SCOPE_CUSTOMER,
    USER_IDS,
    PermissionRow,
    permissions_statement,
    to_permission_row,
)
from gql_users.accounts.user_rows import (
    EVERY_COLUMN,
    UserRecord,
    record_class,
    record_columns,
    visible_users_by_id,
)
from gql_users.accounts.visibility import sees_every_user
from gql_users.db.models import Project, Role


class RoleRecord(NamedTuple):
    id: int
    uuid: UUID
    name: str
    description: str
    scope_type: str
    is_active: bool
    is_system_role: bool


class CustomerRecord(NamedTuple):
    id: int
    uuid: UUID
    name: str
    abbreviation: str
    description: str
    created: datetime


class ProjectRecord(NamedTuple):
    id: int
    uuid: UUID
    name: str
    description: str
    created: datetime
    customer: CustomerRecord


@dataclass(frozen=True, slots=True)
class ScopedPermissions:
    """The active permissions of some users, oldest first, and the objects they refer to,
    one record each however many permissions share it.

    A permission refers to its role (``row.role_id``), to the customer or project it is held
    in (``row.scope_type``, ``row.scope_id``) and, for a project-level role, to the project's
    customer (``row.customer_id``, None for a customer-level role).
    """

    by_user: dict[int, list[PermissionRow]]
    roles: dict[int, RoleRecord]
    customers: dict[int, CustomerRecord]
    projects: dict[int, ProjectRecord]
    creators: dict[int, UserRecord] | None = None
    """Who granted them, among the users the caller may see, by id, when asked for."""


class _Extra(NamedTuple):
    """The columns ``scoped_permissions_statement`` may add to ``permissions_statement``'s, in
    this order: read only when a role, customer or project is met for the first time, and
    those of a scope only for a permission held in that kind of scope (they are null in the
    others, outer-joined)."""

    role_scope_type: str
    role_is_active: bool
    role_is_system_role: bool
    scope_customer_abbreviation: str
    scope_customer_description: str
    scope_customer_created: datetime
    project_description: str
    project_created: datetime
    project_customer_abbreviation: str
    project_customer_description: str
    project_customer_created: datetime


class _NotLoaded:
    """What the records of a load hold in place of the columns not loaded: no
    value of any field's type, so that reading one by mistake fails loudly (GraphQL cannot
    serialise it) rather than showing a wrong value."""

    def __repr__(self) -> str:
        return "<not loaded>"


NOT_LOADED: Any = _NotLoaded()
_NO_EXTRA = _Extra._make([NOT_LOADED] * len(_Extra._fields))

_EXTRA_COLUMNS: dict[str, Any] = {
    "role_scope_type": Role.scope_type,
    "role_is_active": Role.is_active,
    "role_is_system_role": Role.is_system_role,
    "scope_customer_abbreviation": SCOPE_CUSTOMER.abbreviation,
    "scope_customer_description": SCOPE_CUSTOMER.description,
    "scope_customer_created": SCOPE_CUSTOMER.created,
    "project_description": Project.description,
    "project_created": Project.created,
    "project_customer_abbreviation": PROJECT_CUSTOMER.abbreviation,
    "project_customer_description": PROJECT_CUSTOMER.description,
    "project_customer_created": PROJECT_CUSTOMER.created,
}
"""Where each of ``_Extra``'s columns is read: the rows ``permissions_statement`` joins."""
assert tuple(_EXTRA_COLUMNS) == _Extra._fields, "_EXTRA_COLUMNS: in _Extra's order"

ALL_EXTRA: tuple[str, ...] = _Extra._fields
"""Every column of the role, the scope and the project's customer beyond the permission
row's."""

_FROM_PERMISSION_ROW = {
    "id": "created_by_id",
    "username": "creator_username",
    "first_name": "creator_first_name",
    "last_name": "creator_last_name",
}
"""The creator's columns that ``permissions_statement`` selects already (by its column key):
a creator's record reads them there rather than selecting them twice."""
_PERMISSION_KEYS = [column.key for column in permissions_statement(POSTGRESQL).selected_columns]


def _statement(
    dialect: str,
    extra: tuple[str, ...],
    creator_columns: tuple[str, ...] | None,
    omit: frozenset[str],
) -> Select[*tuple[Any, ...]]:
    """``permissions_statement(dialect, omit)`` with the ``extra`` columns (``ALL_EXTRA``, in
    its order) and, unless None, the creator's ``creator_columns`` (those of a record that it
    does not select already), all read from the rows it joins: its first
    ``PERMISSION_COLUMNS`` columns are ``permissions_statement``'s, in its order."""
    statement = permissions_statement(dialect, omit).add_columns(
        *(_EXTRA_COLUMNS[name].label(name) for name in extra)
    )
    if creator_columns is None:
        return statement
    return statement.add_columns(
        *(getattr(CREATOR, column).label(f"granted_by_{column}") for column in creator_columns)
    )


_statements: dict[Hashable, Select[*tuple[Any, ...]]] = {}


def scoped_permissions_statement(
    dialect: str,
    extra: tuple[str, ...] = ALL_EXTRA,
    creator_columns: tuple[str, ...] | None = None,
    omit: frozenset[str] = frozenset(),
) -> Select[*tuple[Any, ...]]:
    """The one SELECT behind ``load_scoped_permissions`` for the database ``dialect`` names,
    the ``extra`` columns and the ``creator_columns`` added and the ``omit`` columns left out
    (see ``_statement``): built once for each and reused with the ``USER_IDS`` parameter
    (aliases cost more to build than the statement takes to run)."""
    dialect = POSTGRESQL if dialect == POSTGRESQL else "other"
    if not extra and creator_columns is None:
        return permissions_statement(dialect, omit)
    return cached_statement(
        _statements,
        (dialect, extra, creator_columns, omit),
        lambda: _statement(dialect, extra, creator_columns, omit),
    )


@lru_cache(maxsize=64)
def _extra_of(extra: tuple[str, ...]) -> Callable[[Sequence[Any]], _Extra]:
    """How a row's ``extra`` columns (``ALL_EXTRA``, in its order) make an ``_Extra``: the
    columns not loaded hold ``NOT_LOADED``."""
    if extra == ALL_EXTRA:
        return _Extra._make
    index = {name: position for position, name in enumerate(extra)}
    return lambda values: _Extra._make(
        values[index[name]] if name in index else NOT_LOADED for name in ALL_EXTRA
    )


@lru_cache(maxsize=64)
def _creator_of(
    columns: tuple[str, ...], first_added: int
) -> Callable[[Sequence[Any]], UserRecord]:
    """How a row makes the record of ``columns`` (``record_columns``) of its creator, from
    the columns ``permissions_statement`` selects already and those added from
    ``first_added`` on (``_statement``)."""
    added = [column for column in columns if column not in _FROM_PERMISSION_ROW]
    positions = [
        _PERMISSION_KEYS.index(_FROM_PERMISSION_ROW[column])
        if column in _FROM_PERMISSION_ROW
        else first_added + added.index(column)
        for column in columns
    ]
    make = record_class(columns)._make
    pick = itemgetter(*positions)
    return lambda values: make(pick(values))


async def load_scoped_permissions(
    session: AsyncSession,
    user_ids: Sequence[int],
    *,
    extra: Iterable[str] = ALL_EXTRA,
    creators_for: Caller | None = None,
    creator_columns: Iterable[str] = EVERY_COLUMN,
    omit: Iterable[str] = (),
) -> ScopedPermissions:
    """The active permissions of each user, oldest first, with their objects; one statement
    (none when ``user_ids`` is empty). Every requested id has a list in ``by_user``, empty
    when the user holds no active role.

    Each row is a ``PermissionRow`` (``to_permission_row``, as REST reads it) and three
    lookups by id: the records are made once per role, customer and project of the load.
    Only the ``extra`` columns (``ALL_EXTRA``) are loaded beyond the permission row; the
    records hold ``NOT_LOADED`` in place of the others (see the module's docstring), and with
    none, the statement is REST's ``permissions_statement``. The columns of the permission
    row that ``omit`` names (``permissions.OMITTABLE``) are left out: they hold None in the
    rows and in the records made from them, for a caller that never reads them.

    With ``creators_for``, ``creators`` holds who granted the permissions among the users
    that caller may see, as rows of the ``creator_columns`` (``record_columns``): read from
    the same statement for a caller who sees every user (``sees_every_user``), else one more
    statement (``visible_users_by_id``).
    """
    by_user: dict[int, list[PermissionRow]] = {user_id: [] for user_id in user_ids}
    loaded = ScopedPermissions(by_user, {}, {}, {})
    if not by_user:
        return loaded
    roles, customers, projects = loaded.roles, loaded.customers, loaded.projects
    connection = await session.connection()
    dialect = connection.dialect.name
    wanted = set(extra)
    added = tuple(name for name in ALL_EXTRA if name in wanted)
    with_creators = creators_for is not None and sees_every_user(creators_for)
    columns = record_columns(creator_columns)
    creator_added = (
        tuple(column for column in columns if column not in _FROM_PERMISSION_ROW)
        if with_creators
        else None
    )
    statement = scoped_permissions_statement(dialect, added, creator_added, frozenset(omit))
    extra_end = PERMISSION_COLUMNS + len(added)
    extra_of = _extra_of(added)
    creator_of = _creator_of(columns, extra_end)
    creators: dict[int, UserRecord] = {}
    for values in await connection.execute(statement, {USER_IDS: list(by_user)}):
        row = to_permission_row(values[:PERMISSION_COLUMNS])
        by_user[row.user_id].append(row)
        if with_creators and row.created_by_id is not None and row.created_by_id not in creators:
            creators[row.created_by_id] = creator_of(values)
        new_role = row.role_id not in roles
        new_scope = row.scope_id not in (customers if row.customer_id is None else projects)
        if not (new_role or new_scope):
            continue
        more = extra_of(values[PERMISSION_COLUMNS:extra_end]) if added else _NO_EXTRA
        if new_role:
            roles[row.role_id] = RoleRecord(
                row.role_id,
                row.role_uuid,
                row.role_name,
                row.role_description,
                more.role_scope_type,
                more.role_is_active,
                more.role_is_system_role,
            )
        if row.customer_id is None:
            if new_scope:
                customers[row.scope_id] = CustomerRecord(
                    row.scope_id,
                    row.scope_uuid,
                    row.scope_name,
                    more.scope_customer_abbreviation,
                    more.scope_customer_description,
                    more.scope_customer_created,
                )
            continue
        customer = customers.get(row.customer_id)
        if customer is None:
            assert row.customer_name is not None  # a project's customer (its uuid: maybe omitted)
            customer = customers[row.customer_id] = CustomerRecord(
                row.customer_id,
                cast(UUID, row.customer_uuid),
                row.customer_name,
                more.project_customer_abbreviation,
                more.project_customer_description,
                more.project_customer_created,
            )
        if new_scope:
            projects[row.scope_id] = ProjectRecord(
                row.scope_id,
                row.scope_uuid,
                row.scope_name,
                more.project_description,
                more.project_created,
                customer,
            )
    if creators_for is None:
        return loaded
    if not with_creators:
        ids = {row.created_by_id for rows in by_user.values() for row in rows}
        granted = [user_id for user_id in ids if user_id is not None]
        creators = await visible_users_by_id(session, creators_for, granted, columns)
    return dataclasses.replace(loaded, creators=creators)
