"""Permissions with the role, the customer or project they are held in and the project's
customer, for any number of users in one statement.

GraphQL shows these as objects (``Permission.role``, ``scope``, ``customer``) with more fields
than the ``permissions`` of a REST user carry. Loading them with the permissions, rather
than by id afterwards, keeps a page of users with their permissions at one statement for the
whole permission graph. Which permissions are listed is ``permissions.permissions_statement``'s
rule, and its columns are read as ``to_permission_row`` reads them; this module only adds the
columns of the rows it already joins. A caller that reads none of the added columns (the
fields of the objects beyond their ids, uuids and names, and a role's description) asks for
the objects ``in_full=False`` and gets ``permissions_statement`` itself, REST's, with fewer
columns to decode. Who granted each permission, as a caller may see them, comes along when
asked: from the same rows for a caller who sees every user, else from one more statement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
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


def _scoped_permissions_statement(dialect: str) -> Select[*tuple[Any, ...]]:
    """``permissions_statement(dialect)`` with every column of the role, the scope and the
    project's customer, read from the rows it joins already. Its first
    ``PERMISSION_COLUMNS`` columns are ``permissions_statement``'s, in its order."""
    return permissions_statement(dialect).add_columns(
        Role.scope_type.label("role_scope_type"),
        Role.is_active.label("role_is_active"),
        Role.is_system_role.label("role_is_system_role"),
        SCOPE_CUSTOMER.abbreviation.label("scope_customer_abbreviation"),
        SCOPE_CUSTOMER.description.label("scope_customer_description"),
        SCOPE_CUSTOMER.created.label("scope_customer_created"),
        Project.description.label("project_description"),
        Project.created.label("project_created"),
        PROJECT_CUSTOMER.abbreviation.label("project_customer_abbreviation"),
        PROJECT_CUSTOMER.description.label("project_customer_description"),
        PROJECT_CUSTOMER.created.label("project_customer_created"),
    )


_SCOPED_PERMISSIONS = {
    dialect: _scoped_permissions_statement(dialect) for dialect in (POSTGRESQL, "other")
}
"""Built once per dialect (aliases and subqueries cost more to build than the statement takes
to run); executed with the ``USER_IDS`` parameter."""

_with_creators: dict[tuple[str, bool, tuple[str, ...]], Select[*tuple[Any, ...]]] = {}


def _creator_columns_added(
    statement: Select[*tuple[Any, ...]], columns: tuple[str, ...]
) -> Select[*tuple[Any, ...]]:
    """``statement`` with the ``columns`` (``user_rows.record_columns``) of the user who
    granted each permission (``permission_rows`` outer-joins them as ``CREATOR``), after its
    own columns."""
    return statement.add_columns(
        *(getattr(CREATOR, column).label(f"granted_by_{column}") for column in columns)
    )


def scoped_permissions_statement(dialect: str) -> Select[*tuple[Any, ...]]:
    """The one SELECT behind ``load_scoped_permissions`` for the database ``dialect`` names."""
    return _SCOPED_PERMISSIONS[POSTGRESQL if dialect == POSTGRESQL else "other"]


class _Extra(NamedTuple):
    """The columns ``_scoped_permissions_statement`` adds to ``permissions_statement``'s, in
    its order: read only when a role, customer or project is met for the first time, and
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


_SCOPED_COLUMNS = tuple(column.key for column in _SCOPED_PERMISSIONS[POSTGRESQL].selected_columns)
assert _Extra._fields == _SCOPED_COLUMNS[PERMISSION_COLUMNS:], "_Extra: the added columns"


class _NotLoaded:
    """What the records of a load ``in_full=False`` hold in place of the added columns: no
    value of any field's type, so that reading one by mistake fails loudly (GraphQL cannot
    serialise it) rather than showing a wrong value."""

    def __repr__(self) -> str:
        return "<not loaded>"


NOT_LOADED: Any = _NotLoaded()
_NO_EXTRA = _Extra._make([NOT_LOADED] * len(_Extra._fields))


async def load_scoped_permissions(
    session: AsyncSession,
    user_ids: Sequence[int],
    *,
    in_full: bool = True,
    creators_for: Caller | None = None,
    creator_columns: Iterable[str] = EVERY_COLUMN,
) -> ScopedPermissions:
    """The active permissions of each user, oldest first, with their objects; one statement
    (none when ``user_ids`` is empty). Every requested id has a list in ``by_user``, empty
    when the user holds no active role.

    Each row is a ``PermissionRow`` (``to_permission_row``, as REST reads it) and three
    lookups by id: the records are made once per role, customer and project of the load.
    With ``in_full`` false, the records hold ``NOT_LOADED`` in place of the columns that
    ``scoped_permissions_statement`` adds (see the module's docstring).

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
    dialect = POSTGRESQL if connection.dialect.name == POSTGRESQL else "other"
    statement = _SCOPED_PERMISSIONS[dialect] if in_full else permissions_statement(dialect)
    with_creators = creators_for is not None and sees_every_user(creators_for)
    columns = record_columns(creator_columns)
    creators: dict[int, UserRecord] = {}
    if with_creators:
        base = statement
        statement = cached_statement(
            _with_creators,
            (dialect, in_full, columns),
            lambda: _creator_columns_added(base, columns),
        )
    creator_record = record_class(columns)._make
    extra_end = PERMISSION_COLUMNS + (len(_Extra._fields) if in_full else 0)
    for values in await connection.execute(statement, {USER_IDS: list(by_user)}):
        row = to_permission_row(values[:PERMISSION_COLUMNS])
        by_user[row.user_id].append(row)
        if with_creators and row.created_by_id is not None and row.created_by_id not in creators:
            creators[row.created_by_id] = creator_record(values[extra_end:])
        new_role = row.role_id not in roles
        new_scope = row.scope_id not in (customers if row.customer_id is None else projects)
        if not (new_role or new_scope):
            continue
        extra = _Extra._make(values[PERMISSION_COLUMNS:extra_end]) if in_full else _NO_EXTRA
        if new_role:
            roles[row.role_id] = RoleRecord(
                row.role_id,
                row.role_uuid,
                row.role_name,
                row.role_description,
                extra.role_scope_type,
                extra.role_is_active,
                extra.role_is_system_role,
            )
        if row.customer_id is None:
            if new_scope:
                customers[row.scope_id] = CustomerRecord(
                    row.scope_id,
                    row.scope_uuid,
                    row.scope_name,
                    extra.scope_customer_abbreviation,
                    extra.scope_customer_description,
                    extra.scope_customer_created,
                )
            continue
        customer = customers.get(row.customer_id)
        if customer is None:
            assert row.customer_uuid is not None and row.customer_name is not None
            customer = customers[row.customer_id] = CustomerRecord(
                row.customer_id,
                row.customer_uuid,
                row.customer_name,
                extra.project_customer_abbreviation,
                extra.project_customer_description,
                extra.project_customer_created,
            )
        if new_scope:
            projects[row.scope_id] = ProjectRecord(
                row.scope_id,
                row.scope_uuid,
                row.scope_name,
                extra.project_description,
                extra.project_created,
                customer,
            )
    if creators_for is None:
        return loaded
    if not with_creators:
        ids = {row.created_by_id for rows in by_user.values() for row in rows}
        granted = [user_id for user_id in ids if user_id is not None]
        creators = await visible_users_by_id(session, creators_for, granted, columns)
    return dataclasses.replace(loaded, creators=creators)
