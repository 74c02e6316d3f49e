"""The ``permissions`` of users (docs/fields.md#permissions), loaded for a whole page at once.

``load_permissions`` answers for any number of users with one statement, which is what lets
a list page (REST) or a DataLoader batch (GraphQL) cost a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, NamedTuple
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    SQLColumnExpression,
    Uuid,
    any_,
    bindparam,
    null,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gql_users.accounts.grants import is_current
from gql_users.accounts.wire import (
    WireDate,
    WireDateTime,
    WireUuid,
    render_datetime,
    render_optional_datetime,
    render_uuid,
)
from gql_users.db.models import Customer, Project, Role, User, UserRole, UTCDateTime
from gql_users.events import Event, Kind, publish

ScopeType = Literal["customer", "project"]


def full_name(first_name: str, last_name: str) -> str:
    """``User.full_name`` computed from columns, for rows loaded without their User object."""
    return f"{first_name} {last_name}".strip()


class PermissionRow(NamedTuple):
    """One active role of a user, with everything the Waldur ``Permission`` shows.

    The ``scope_*`` fields describe the customer or project the role is held in. The
    ``customer_*`` fields describe the *project's* customer and are None for a customer-scoped
    role, as in Waldur (a customer has no customer). The ids are kept so that GraphQL can
    resolve related objects later without another lookup by uuid.

    A named tuple, immutable: a page holds hundreds, and a tuple is made several times faster
    than a frozen dataclass of this many fields.
    """

    id: int
    uuid: UUID
    user_id: int
    user_uuid: UUID
    user_full_name: str
    user_slug: str
    created: datetime
    expiration_time: datetime | None
    created_by_id: int | None
    created_by_full_name: str | None
    created_by_username: str | None
    role_id: int
    role_name: str
    role_description: str
    role_uuid: UUID
    scope_type: ScopeType
    scope_id: int
    scope_uuid: UUID
    scope_name: str
    project_id: int | None
    customer_id: int | None
    customer_uuid: UUID | None
    customer_name: str | None


_holder = aliased(User, name="holder")
CREATOR = aliased(User, name="creator")
SCOPE_CUSTOMER = aliased(Customer, name="scope_customer")
PROJECT_CUSTOMER = aliased(Customer, name="project_customer")
"""The users and customers ``permission_rows`` joins under these names (with ``Role`` and
``Project``): a statement built on it reads more of their columns without joining again."""

USER_IDS = "user_ids"
"""The parameter of ``permissions_statement``: the ids of the users whose roles are loaded."""


def in_user_ids(column: SQLColumnExpression[int], dialect: str) -> ColumnElement[bool]:
    """``column`` among the ``USER_IDS`` parameter: ``= ANY(:user_ids)`` on PostgreSQL, where
    the list is one array parameter, so the statement's text never changes; an expanding ``IN``
    elsewhere (rewritten at each execution for the number of ids)."""
    if dialect == POSTGRESQL:
        return column == any_(bindparam(USER_IDS, type_=ARRAY(Integer)))
    return column.in_(bindparam(USER_IDS, expanding=True))


HOLDER_COLUMNS = ("user_uuid", "user_first_name", "user_last_name", "user_slug")
OMITTABLE = frozenset(
    {
        "uuid",
        *HOLDER_COLUMNS,
        "created",
        "expiration_time",
        "role_uuid",
        "role_description",
        "scope_customer_uuid",
        "project_uuid",
        "project_customer_uuid",
    }
)
"""The columns of ``permission_rows`` that a caller who does not read them may leave out
(``omit``): uuids and datetimes, which the driver converts value by value, the role's
description, and the holder's columns, whose join then goes too. The ids, names and the
creator's columns stay: they tell which role, scope and creator a row refers to."""


def permission_rows(omit: frozenset[str] = frozenset()) -> Select[*tuple[Any, ...]]:
    """Current permissions, one row each, with what ``to_permission_row`` reads: roles, both
    scopes, the project's customer and the creator, outer-joined. Unordered, for any further
    condition (a page of users' roles here, a scope's in ``gql_users.accounts.scope_links``).

    The columns ``omit`` names (``OMITTABLE``) are selected as NULL, in their place, so that
    every row has the same layout; the holder is not joined when all its columns are left
    out (each role has its holder: the foreign key is not null and cascades).

    A permission whose scope row is gone is left out (Waldur shows roles "whose scope still
    exists"; the foreign keys cascade, so this is only a safeguard).
    """
    assert omit <= OMITTABLE, omit - OMITTABLE
    every = select(
        UserRole.id,
        UserRole.uuid,
        UserRole.user_id,
        _holder.uuid.label("user_uuid"),
        _holder.first_name.label("user_first_name"),
        _holder.last_name.label("user_last_name"),
        _holder.slug.label("user_slug"),
        UserRole.created,
        UserRole.expiration_time,
        UserRole.created_by_id,
        CREATOR.first_name.label("creator_first_name"),
        CREATOR.last_name.label("creator_last_name"),
        CREATOR.username.label("creator_username"),
        Role.id.label("role_id"),
        Role.name.label("role_name"),
        Role.description.label("role_description"),
        Role.uuid.label("role_uuid"),
        SCOPE_CUSTOMER.id.label("scope_customer_id"),
        SCOPE_CUSTOMER.uuid.label("scope_customer_uuid"),
        SCOPE_CUSTOMER.name.label("scope_customer_name"),
        Project.id.label("project_id"),
        Project.uuid.label("project_uuid"),
        Project.name.label("project_name"),
        PROJECT_CUSTOMER.id.label("project_customer_id"),
        PROJECT_CUSTOMER.uuid.label("project_customer_uuid"),
        PROJECT_CUSTOMER.name.label("project_customer_name"),
    )
    statement = select(
        *(
            null().label(column.key) if column.key in omit else column
            for column in every.selected_columns
        )
    )
    if not omit.issuperset(HOLDER_COLUMNS):
        statement = statement.join(_holder, _holder.id == UserRole.user_id)
    return (
        statement.join(Role, Role.id == UserRole.role_id)
        .outerjoin(SCOPE_CUSTOMER, SCOPE_CUSTOMER.id == UserRole.customer_id)
        .outerjoin(Project, Project.id == UserRole.project_id)
        .outerjoin(PROJECT_CUSTOMER, PROJECT_CUSTOMER.id == Project.customer_id)
        .outerjoin(CREATOR, CREATOR.id == UserRole.created_by_id)
        .where(
            is_current(UserRole),
            (SCOPE_CUSTOMER.id.is_not(None)) | (PROJECT_CUSTOMER.id.is_not(None)),
        )
    )


def _permissions_statement(dialect: str, omit: frozenset[str]) -> Select[*tuple[Any, ...]]:
    return (
        permission_rows(omit)
        .where(in_user_ids(UserRole.user_id, dialect))
        .order_by(UserRole.created, UserRole.id)
    )


POSTGRESQL = "postgresql"


@lru_cache(maxsize=64)
def _cached_statement(dialect: str, omit: frozenset[str]) -> Select[*tuple[Any, ...]]:
    return _permissions_statement(dialect, omit)


def permissions_statement(
    dialect: str, omit: frozenset[str] = frozenset()
) -> Select[*tuple[Any, ...]]:
    """The one SELECT behind ``load_permissions``, for the database ``dialect`` names: roles,
    both scopes, the project's customer and the creator, outer-joined so each permission is
    one row; the users are the ``USER_IDS`` parameter. The columns ``omit`` names are NULL
    (``permission_rows``).

    Built once per dialect and ``omit``: each execution reuses its compiled form. A
    permission whose scope row is gone is left out (Waldur shows roles "whose scope still
    exists"; the foreign keys cascade, so this is only a safeguard).
    """
    return _cached_statement(POSTGRESQL if dialect == POSTGRESQL else "other", omit)


def to_permission_row(values: Sequence[Any]) -> PermissionRow:
    """A ``permissions_statement`` row (or the same columns, in the same order, from a
    statement that selects them as a subquery) as a ``PermissionRow``. The columns are unpacked
    by position: a page of permissions is read without a lookup by name per value."""
    return PermissionRow._make(_permission_fields(values))


def _permission_fields(values: Sequence[Any]) -> tuple[Any, ...]:
    """The fields of ``to_permission_row``'s ``PermissionRow``, in its order, of whatever type
    the columns were loaded as (``waldur_permission`` loads them in their wire form)."""
    (
        id_,
        uuid,
        user_id,
        user_uuid,
        user_first_name,
        user_last_name,
        user_slug,
        created,
        expiration_time,
        created_by_id,
        creator_first_name,
        creator_last_name,
        creator_username,
        role_id,
        role_name,
        role_description,
        role_uuid,
        scope_customer_id,
        scope_customer_uuid,
        scope_customer_name,
        project_id,
        project_uuid,
        project_name,
        project_customer_id,
        project_customer_uuid,
        project_customer_name,
    ) = values
    has_creator = created_by_id is not None and creator_username is not None
    if scope_customer_id is not None:  # customer_* stay None: a customer has no customer
        scope: tuple[ScopeType, Any, Any, Any] = (
            "customer",
            scope_customer_id,
            scope_customer_uuid,
            scope_customer_name,
        )
        project_and_customer: tuple[Any, ...] = (None, None, None, None)
    else:
        scope = ("project", project_id, project_uuid, project_name)
        project_and_customer = (
            project_id,
            project_customer_id,
            project_customer_uuid,
            project_customer_name,
        )
    # Positional, in PermissionRow's field order (keywords would cost more than the tuple).
    return (
        id_,
        uuid,
        user_id,
        user_uuid,
        None if user_first_name is None else full_name(user_first_name, user_last_name),
        user_slug,
        created,
        expiration_time,
        created_by_id if has_creator else None,
        full_name(creator_first_name, creator_last_name) if has_creator else None,
        creator_username if has_creator else None,
        role_id,
        role_name,
        role_description,
        role_uuid,
        *scope,
        *project_and_customer,
    )


PERMISSION_COLUMNS = len(permissions_statement(POSTGRESQL).selected_columns)
"""How many columns ``to_permission_row`` reads."""


async def load_permissions(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[PermissionRow]]:
    """The active permissions of each user, oldest first, in one SQL statement.

    Args:
        session: the request's session.
        user_ids: users to load for (duplicates are fine); no statement runs when empty.

    Returns:
        A list for every requested id (empty when the user has no active role), so a
        DataLoader can answer ``[result[id] for id in keys]`` directly.
    """
    result: dict[int, list[PermissionRow]] = {user_id: [] for user_id in user_ids}
    if not result:
        return result
    statement = permissions_statement(session.get_bind().dialect.name)
    records = await session.execute(statement, {USER_IDS: list(result)})
    for record in records:
        result[record.user_id].append(to_permission_row(record))
    return result


def permission_to_waldur(row: PermissionRow) -> dict[str, Any]:
    """One element of a Waldur user's ``permissions`` array, keys in Waldur's order.

    ``created_by_*`` is left out when the role has no (remaining) creator, ``customer_*`` for
    a customer-scoped role (docs/fields.md#permissions).
    """
    return _waldur_permission(
        render_uuid(row.user_uuid),
        row.user_full_name,
        row.user_slug,
        render_datetime(row.created),
        render_optional_datetime(row.expiration_time),
        row.created_by_full_name,
        row.created_by_username,
        row.role_name,
        row.role_description,
        render_uuid(row.role_uuid),
        row.scope_type,
        render_uuid(row.scope_uuid),
        row.scope_name,
        None if row.customer_uuid is None else render_uuid(row.customer_uuid),
        row.customer_name,
    )


def _waldur_permission(
    user_uuid: str,
    user_name: str,
    user_slug: str,
    created: str,
    expiration_time: str | None,
    created_by_full_name: str | None,
    created_by_username: str | None,
    role_name: str,
    role_description: str,
    role_uuid: str,
    scope_type: ScopeType,
    scope_uuid: str,
    scope_name: str,
    customer_uuid: str | None,
    customer_name: str | None,
) -> dict[str, Any]:
    """``permission_to_waldur`` of values already in their wire form."""
    rendered: dict[str, Any] = {
        "user_uuid": user_uuid,
        "user_name": user_name,
        "user_slug": user_slug,
        "created": created,
        "expiration_time": expiration_time,
    }
    if created_by_username is not None:
        rendered["created_by_full_name"] = created_by_full_name
        rendered["created_by_username"] = created_by_username
    rendered["role_name"] = role_name
    rendered["role_description"] = role_description
    rendered["role_uuid"] = role_uuid
    rendered["scope_type"] = scope_type
    rendered["scope_uuid"] = scope_uuid
    rendered["scope_name"] = scope_name
    if customer_uuid is not None:
        rendered["customer_uuid"] = customer_uuid
        rendered["customer_name"] = customer_name
    return rendered


def in_wire_form(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` loaded as its wire form's text when it holds uuids or datetimes
    (docs/architecture.md#values-in-their-wire-form), else as it is."""
    for sql_type, wire_type in ((Uuid, WireUuid), (UTCDateTime, WireDateTime), (Date, WireDate)):
        if isinstance(column.type, sql_type):
            return type_coerce(column, wire_type()).label(column.name)
    return column


class RenderedPermissions(list[dict[str, Any]]):
    """A user's permissions already in their Waldur form, oldest first: made by
    ``waldur_permission`` from columns loaded in their wire form, with no ``PermissionRow`` on
    the way (the REST details, ``user_details``)."""


_WALDUR_FIELDS = itemgetter(
    *(
        PermissionRow._fields.index(name)
        for name in (
            "user_uuid",
            "user_full_name",
            "user_slug",
            "created",
            "expiration_time",
            "created_by_full_name",
            "created_by_username",
            "role_name",
            "role_description",
            "role_uuid",
            "scope_type",
            "scope_uuid",
            "scope_name",
            "customer_uuid",
            "customer_name",
        )
    )
)
"""The fields of a ``PermissionRow`` that its Waldur body shows, in ``_waldur_permission``'s
order."""


def waldur_permission(values: Sequence[Any]) -> dict[str, Any]:
    """``permission_to_waldur`` of a ``permissions_statement`` row (or its columns in the same
    order) whose columns were loaded through ``in_wire_form``: nothing is converted."""
    return _waldur_permission(*_WALDUR_FIELDS(_permission_fields(values)))


async def publish_permissions_changed(session: AsyncSession, *user_uuids: UUID) -> None:
    """Tell live subscribers that the roles of these users changed (granted, revoked, a new
    expiration time). Every write of roles calls it in its transaction, before the commit.

    ``permissionsChanged`` of each user fires, and ``userChanged``/``usersChanged`` report
    the user as updated (its ``permissions`` field changed); each subscriber re-reads with
    the roles as committed.
    """
    await publish(session, *(Event(Kind.PERMISSIONS, user) for user in dict.fromkeys(user_uuids)))
