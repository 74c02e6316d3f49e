"""Permissions with the role, the customer or project they are held in and the project's
customer, for any number of users in one statement.

GraphQL shows these as objects (``Permission.role``, ``scope``, ``customer``) with more fields
than the ``permissions`` of a REST user carry. Loading them with the permissions, rather
than by id afterwards, keeps a page of users with their permissions at one statement for the
whole permission graph. Which permissions are listed is ``permissions.permissions_statement``'s
rule, and its columns are read as ``to_permission_row`` reads them; this module only adds the
columns of the rows it already joins.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gql_users.accounts.permissions import (
    PERMISSION_COLUMNS,
    POSTGRESQL,
    USER_IDS,
    PermissionRow,
    permissions_statement,
    to_permission_row,
)
from gql_users.db.models import Customer, Project, Role


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: int
    uuid: UUID
    name: str
    description: str
    scope_type: str
    is_active: bool
    is_system_role: bool


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int
    uuid: UUID
    name: str
    abbreviation: str
    description: str
    created: datetime


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    uuid: UUID
    name: str
    description: str
    created: datetime
    customer: CustomerRecord


@dataclass(frozen=True, slots=True)
class ScopedPermission:
    """One active role of a user (``row``) with the objects it refers to; ``customer`` is the
    project's customer, None for a customer-level role (as ``row.customer_id``)."""

    row: PermissionRow
    role: RoleRecord
    scope: CustomerRecord | ProjectRecord
    customer: CustomerRecord | None


def _scoped_permissions_statement(dialect: str) -> Select[*tuple[Any, ...]]:
    """``permissions_statement(dialect)`` with every column of the role, the scope and the
    project's customer: the permission's rows joined again by primary key. Its first
    ``PERMISSION_COLUMNS`` columns are ``permissions_statement``'s, in its order."""
    permission = permissions_statement(dialect).order_by(None).subquery("permission")
    scope_customer = aliased(Customer, name="scope_customer_row")
    project_customer = aliased(Customer, name="project_customer_row")
    return (
        select(
            permission,
            Role.scope_type.label("role_scope_type"),
            Role.is_active.label("role_is_active"),
            Role.is_system_role.label("role_is_system_role"),
            scope_customer.abbreviation.label("scope_customer_abbreviation"),
            scope_customer.description.label("scope_customer_description"),
            scope_customer.created.label("scope_customer_created"),
            Project.description.label("project_description"),
            Project.created.label("project_created"),
            project_customer.abbreviation.label("project_customer_abbreviation"),
            project_customer.description.label("project_customer_description"),
            project_customer.created.label("project_customer_created"),
        )
        .join(Role, Role.id == permission.c.role_id)
        .outerjoin(scope_customer, scope_customer.id == permission.c.scope_customer_id)
        .outerjoin(Project, Project.id == permission.c.project_id)
        .outerjoin(project_customer, project_customer.id == permission.c.project_customer_id)
        .order_by(permission.c.created, permission.c.id)
    )


_SCOPED_PERMISSIONS = {
    dialect: _scoped_permissions_statement(dialect) for dialect in (POSTGRESQL, "other")
}
"""Built once per dialect (aliases and subqueries cost more to build than the statement takes
to run); executed with the ``USER_IDS`` parameter."""


def scoped_permissions_statement(dialect: str) -> Select[*tuple[Any, ...]]:
    """The one SELECT behind ``load_scoped_permissions`` for the database ``dialect`` names."""
    return _SCOPED_PERMISSIONS[POSTGRESQL if dialect == POSTGRESQL else "other"]


Record = TypeVar("Record", RoleRecord, CustomerRecord, ProjectRecord)


def _role(record: Row[*tuple[Any, ...]]) -> RoleRecord:
    return RoleRecord(
        id=record.role_id,
        uuid=record.role_uuid,
        name=record.role_name,
        description=record.role_description,
        scope_type=record.role_scope_type,
        is_active=record.role_is_active,
        is_system_role=record.role_is_system_role,
    )


def _customer(record: Row[*tuple[Any, ...]], prefix: str) -> CustomerRecord:
    """The scope's customer (``prefix`` ``scope_customer``) or the project's."""
    return CustomerRecord(
        id=getattr(record, f"{prefix}_id"),
        uuid=getattr(record, f"{prefix}_uuid"),
        name=getattr(record, f"{prefix}_name"),
        abbreviation=getattr(record, f"{prefix}_abbreviation"),
        description=getattr(record, f"{prefix}_description"),
        created=getattr(record, f"{prefix}_created"),
    )


class _Records:
    """One record per role, customer and project of a load, however many permissions share it."""

    def __init__(self) -> None:
        self.made: dict[tuple[type, int], Any] = {}

    def one(self, kind: type[Record], id_: int, make: Callable[[], Record]) -> Record:
        found: Record | None = self.made.get((kind, id_))
        if found is None:
            found = self.made[kind, id_] = make()
        return found

    def scoped(self, record: Row[*tuple[Any, ...]]) -> ScopedPermission:
        row = to_permission_row(record[:PERMISSION_COLUMNS])
        role = self.one(RoleRecord, record.role_id, lambda: _role(record))
        if record.scope_customer_id is not None:
            scope = self.one(
                CustomerRecord,
                record.scope_customer_id,
                lambda: _customer(record, "scope_customer"),
            )
            return ScopedPermission(row=row, role=role, scope=scope, customer=None)
        customer = self.one(
            CustomerRecord,
            record.project_customer_id,
            lambda: _customer(record, "project_customer"),
        )
        project = self.one(
            ProjectRecord,
            record.project_id,
            lambda: ProjectRecord(
                id=record.project_id,
                uuid=record.project_uuid,
                name=record.project_name,
                description=record.project_description,
                created=record.project_created,
                customer=customer,
            ),
        )
        return ScopedPermission(row=row, role=role, scope=project, customer=customer)


@lru_cache(maxsize=4)
def _record_class(columns: tuple[str, ...]) -> type[tuple[Any, ...]]:
    """A named tuple of the statement's columns: reading its fields by name is several times
    cheaper than reading a result ``Row``'s, and a page reads some thirty per permission."""
    return namedtuple("ScopedPermissionRecord", columns)  # noqa: PYI024


async def load_scoped_permissions(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[ScopedPermission]]:
    """The active permissions of each user, oldest first, with their objects; one statement
    (none when ``user_ids`` is empty). Every requested id has a list, empty when the user
    holds no active role."""
    result: dict[int, list[ScopedPermission]] = {user_id: [] for user_id in user_ids}
    if not result:
        return result
    records = _Records()
    statement = scoped_permissions_statement(session.get_bind().dialect.name)
    rows = await session.execute(statement, {USER_IDS: list(result)})
    record_class: Any = _record_class(tuple(rows.keys()))
    for row in rows:
        record = record_class._make(row)
        result[record.user_id].append(records.scoped(record))
    return result
