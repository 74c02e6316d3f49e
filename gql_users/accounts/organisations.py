"""Customers and projects: list, retrieve, create, update and delete, the same for REST and GraphQL
(docs/writes.md#customers-and-projects).

Each write checks in Waldur's order and the users operations' shape: authentication (401), the
lookup among the scopes the caller may see (404), who may write (403), the input (400), then the
write and its commit. Input arrives as an ``InputReader`` of plain field values (a JSON object's
``dict``; GraphQL passes ``already_read({...})``), read once the checks that do not need it
have passed. A project's ``customer`` is the one exception: who may create a project depends on
its customer, so project creation reads its input first, as Waldur does.

Who may write: staff create, update and delete customers; staff and the customer's owners
create, update and delete its projects. A customer is deleted only when it has no project.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller, ensure_authenticated
from gql_users.accounts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gql_users.accounts.grants import is_current
from gql_users.accounts.operations import InputReader
from gql_users.accounts.pagination import Page, PageRequest
from gql_users.accounts.permissions import publish_permissions_changed
from gql_users.accounts.users import ensure_staff
from gql_users.accounts.validation import REQUIRED, coerce_string, parse_uuid
from gql_users.accounts.visibility import visible_customers, visible_projects
from gql_users.db.models import Customer, Project, Role, User, UserRole

ScopeType = Literal["customer", "project"]
Scope = TypeVar("Scope", Customer, Project)

CUSTOMER_OWNER = "CUSTOMER.OWNER"
PROJECT_MANAGER = "PROJECT.MANAGER"
PROJECT_MEMBER = "PROJECT.MEMBER"

CUSTOMER_NOT_FOUND = "No Customer matches the given query."
PROJECT_NOT_FOUND = "No Project matches the given query."
CUSTOMER_HAS_PROJECTS = "Cannot delete organization with existing projects"
NOT_NULL = "This field may not be null."
NO_URL_MATCH = "Invalid hyperlink - No URL match."
NO_SUCH_OBJECT = "Invalid hyperlink - Object does not exist."

DESCRIPTION_MAX_LENGTH = 2000
"""Waldur's limit on a description (the column is unbounded text)."""

_CUSTOMER_PATH = re.compile(r"(?:^|/)api/customers/(?P<uuid>[0-9a-fA-F-]{32,36})/?$")


@dataclass(frozen=True, slots=True)
class TextField:
    """One writable text field: its column's limit and whether it may be blank."""

    max_length: int
    required: bool = False


CUSTOMER_FIELDS: dict[str, TextField] = {
    "name": TextField(max_length=150, required=True),
    "abbreviation": TextField(max_length=12),
    "description": TextField(max_length=DESCRIPTION_MAX_LENGTH),
}
PROJECT_FIELDS: dict[str, TextField] = {
    "name": TextField(max_length=500, required=True),
    "description": TextField(max_length=DESCRIPTION_MAX_LENGTH),
}


# --- reading --------------------------------------------------------------------------------


def _ordered(statement: Select[Any], model: type[Customer] | type[Project]) -> Select[Any]:
    """Waldur lists customers and projects by name; the id breaks ties so pages are stable."""
    return statement.order_by(model.name, model.id)


async def _page(
    session: AsyncSession, statement: Select[Any], model: type[Scope], page_request: PageRequest
) -> tuple[list[Scope], Page]:
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = page_request.resolve(total)
    rows = await session.scalars(_ordered(statement, model).offset(page.offset).limit(page.limit))
    return list(rows), page


async def list_customers_page(
    session: AsyncSession, caller: Caller, page_request: PageRequest
) -> tuple[list[Customer], Page]:
    """A page of the customers the caller may see, by name
    (docs/visibility.md#visible-customers-and-projects).

    Raises:
        NotFound: "Invalid page." for a page out of range.
    """
    return await _page(session, visible_customers(caller), Customer, page_request)


async def list_projects_page(
    session: AsyncSession,
    caller: Caller,
    page_request: PageRequest,
    *,
    customer_uuids: Sequence[uuid.UUID] = (),
) -> tuple[list[Project], Page]:
    """A page of the projects the caller may see, by name; with ``customer_uuids``, only the
    projects of those customers.

    Raises:
        NotFound: "Invalid page." for a page out of range.
    """
    statement = visible_projects(caller)
    if customer_uuids:
        statement = statement.where(
            Project.customer_id.in_(select(Customer.id).where(Customer.uuid.in_(customer_uuids)))
        )
    return await _page(session, statement, Project, page_request)


async def get_visible_customer(
    session: AsyncSession, caller: Caller, customer_uuid: uuid.UUID | str
) -> Customer:
    """The customer, if the caller may see it.

    Raises:
        NotFound: no such customer, a malformed uuid, or one the caller may not see.
    """
    return await _visible(session, visible_customers(caller), Customer, customer_uuid)


async def get_visible_project(
    session: AsyncSession, caller: Caller, project_uuid: uuid.UUID | str
) -> Project:
    """The project, if the caller may see it.

    Raises:
        NotFound: no such project, a malformed uuid, or one the caller may not see.
    """
    return await _visible(session, visible_projects(caller), Project, project_uuid)


async def _visible(
    session: AsyncSession,
    statement: Select[Scope],
    model: type[Scope],
    scope_uuid: uuid.UUID | str,
) -> Scope:
    message = CUSTOMER_NOT_FOUND if model is Customer else PROJECT_NOT_FOUND
    parsed = scope_uuid if isinstance(scope_uuid, uuid.UUID) else parse_uuid(scope_uuid)
    if parsed is None:
        raise NotFound(message)
    found = await session.scalar(statement.where(model.uuid == parsed))
    if found is None:
        raise NotFound(message)
    return found


async def customers_of(session: AsyncSession, projects: list[Project]) -> dict[int, Customer]:
    """The customers of a page of projects, in one statement."""
    ids = {project.customer_id for project in projects}
    if not ids:
        return {}
    rows = await session.scalars(select(Customer).where(Customer.id.in_(ids)))
    return {customer.id: customer for customer in rows}


# --- who may write --------------------------------------------------------------------------


async def holds_role(
    session: AsyncSession,
    user_id: int,
    role_name: str,
    *,
    customer_id: int | None = None,
    project_id: int | None = None,
) -> bool:
    """Whether the user holds a current grant of the role in the customer or the project."""
    scope = (
        UserRole.customer_id == customer_id
        if customer_id is not None
        else UserRole.project_id == project_id
    )
    statement = select(
        exists().where(
            UserRole.user_id == user_id,
            scope,
            is_current(UserRole),
            UserRole.role_id.in_(select(Role.id).where(Role.name == role_name)),
        )
    )
    return bool(await session.scalar(statement))


async def ensure_owner_or_staff(session: AsyncSession, caller: Caller, customer_id: int) -> None:
    """Raises: PermissionDenied unless the caller is staff or an owner of the customer."""
    user = ensure_authenticated(caller)
    if user.is_staff:
        return
    if not await holds_role(session, user.id, CUSTOMER_OWNER, customer_id=customer_id):
        raise PermissionDenied()


# --- input ----------------------------------------------------------------------------------


def clean_fields(
    data: Mapping[str, Any], spec: Mapping[str, TextField], *, partial: bool
) -> dict[str, str]:
    """The writable fields of ``data`` that ``spec`` names, validated with DRF's messages;
    unknown keys are ignored. ``partial`` (PATCH) leaves out required fields that are absent.

    Raises:
        ValidationFailed: every bad field at once, ``{"name": ["This field is required."]}``.
    """
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, field in spec.items():
        if name not in data:
            if field.required and not partial:
                errors[name] = [REQUIRED]
            continue
        value = data[name]
        if value is None:
            errors[name] = [NOT_NULL]
            continue
        try:
            values[name] = coerce_string(
                value, max_length=field.max_length, allow_blank=not field.required
            )
        except ValueError as error:
            errors[name] = [str(error)]
    if errors:
        raise ValidationFailed(errors)
    return values


def customer_reference(value: Any) -> uuid.UUID:
    """A project's ``customer``: its URL (``.../api/customers/<uuid>/``, as Waldur's hyperlinked
    field takes it) or its bare uuid (GraphQL's form).

    Raises:
        ValueError: with DRF's hyperlinked-field message.
    """
    if isinstance(value, uuid.UUID):
        return value
    if value is None:
        raise ValueError(NOT_NULL)
    if not isinstance(value, str):
        raise ValueError(f"Incorrect type. Expected URL string, received {type(value).__name__}.")
    text = value.strip()
    if not text:
        raise ValueError(REQUIRED)
    bare = parse_uuid(text)
    if bare is not None:
        return bare
    match = _CUSTOMER_PATH.search(text.split("?", 1)[0])
    parsed = parse_uuid(match["uuid"]) if match else None
    if parsed is None:
        raise ValueError(NO_URL_MATCH)
    return parsed


# --- customers ------------------------------------------------------------------------------


async def create_customer(
    session: AsyncSession, caller: Caller, read_input: InputReader[Mapping[str, Any]]
) -> Customer:
    """Create a customer (staff only) from ``name``, ``abbreviation`` and ``description``.

    Raises:
        NotAuthenticated: anonymous caller.
        PermissionDenied: the caller is not staff.
        ValidationFailed: bad fields.
    """
    ensure_authenticated(caller)
    ensure_staff(caller)
    values = clean_fields(await read_input(), CUSTOMER_FIELDS, partial=False)
    customer = Customer(**values)
    session.add(customer)
    await session.commit()
    return customer


async def update_customer(
    session: AsyncSession,
    caller: Caller,
    customer_uuid: uuid.UUID | str,
    read_input: InputReader[Mapping[str, Any]],
    *,
    partial: bool = True,
) -> Customer:
    """Change a customer's ``name``, ``abbreviation`` or ``description`` (staff only);
    ``partial=False`` (PUT) requires ``name``.

    Raises:
        NotAuthenticated, NotFound (a customer the caller may not see), PermissionDenied (not
        staff), ValidationFailed.
    """
    ensure_authenticated(caller)
    customer = await get_visible_customer(session, caller, customer_uuid)
    ensure_staff(caller)
    values = clean_fields(await read_input(), CUSTOMER_FIELDS, partial=partial)
    for name, value in values.items():
        setattr(customer, name, value)
    await session.commit()
    return customer


async def delete_customer(
    session: AsyncSession, caller: Caller, customer_uuid: uuid.UUID | str
) -> None:
    """Delete a customer that has no project (staff only); its grants go with it.

    The customer's row is locked before the check, so a project created at the same time either
    is seen by the check or fails on its foreign key: never deleted with the customer.

    Raises:
        NotAuthenticated, NotFound, PermissionDenied (not staff).
        Conflict: "Cannot delete organization with existing projects".
    """
    ensure_authenticated(caller)
    customer = await get_visible_customer(session, caller, customer_uuid)
    ensure_staff(caller)
    await session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    has_projects = await session.scalar(select(exists().where(Project.customer_id == customer.id)))
    if has_projects:
        raise Conflict(CUSTOMER_HAS_PROJECTS)
    await _publish_holders_of(session, UserRole.customer_id == customer.id)
    await session.delete(customer)
    await session.commit()


# --- projects -------------------------------------------------------------------------------


async def create_project(
    session: AsyncSession, caller: Caller, read_input: InputReader[Mapping[str, Any]]
) -> Project:
    """Create a project in ``customer`` (staff, or an owner of that customer) from ``name``,
    ``description`` and ``customer``.

    Raises:
        NotAuthenticated: anonymous caller.
        ValidationFailed: bad fields; ``{"customer": ["Invalid hyperlink - Object does not
            exist."]}`` for a customer the caller may not see.
        PermissionDenied: the caller may see the customer but does not own it.
    """
    ensure_authenticated(caller)
    data = await read_input()
    errors: dict[str, list[str]] = {}
    try:
        values = clean_fields(data, PROJECT_FIELDS, partial=False)
    except ValidationFailed as failed:
        assert isinstance(failed.errors, dict)
        errors.update(failed.errors)
    customer: Customer | None = None
    try:
        if "customer" not in data:
            raise ValueError(REQUIRED)
        customer_uuid = customer_reference(data["customer"])
    except ValueError as error:
        errors["customer"] = [str(error)]
    else:
        customer = await session.scalar(
            visible_customers(caller).where(Customer.uuid == customer_uuid)
        )
        if customer is None:
            errors["customer"] = [NO_SUCH_OBJECT]
    if errors:
        raise ValidationFailed(errors)
    assert customer is not None
    await ensure_owner_or_staff(session, caller, customer.id)
    project = Project(customer_id=customer.id, **values)
    session.add(project)
    try:
        await session.commit()
    except IntegrityError:  # the customer was deleted in between
        await session.rollback()
        raise ValidationFailed({"customer": [NO_SUCH_OBJECT]}) from None
    return project


async def update_project(
    session: AsyncSession,
    caller: Caller,
    project_uuid: uuid.UUID | str,
    read_input: InputReader[Mapping[str, Any]],
    *,
    partial: bool = True,
) -> Project:
    """Change a project's ``name`` or ``description`` (staff, or an owner of its customer);
    its customer does not change. ``partial=False`` (PUT) requires ``name``.

    Raises:
        NotAuthenticated, NotFound, PermissionDenied, ValidationFailed.
    """
    ensure_authenticated(caller)
    project = await get_visible_project(session, caller, project_uuid)
    await ensure_owner_or_staff(session, caller, project.customer_id)
    values = clean_fields(await read_input(), PROJECT_FIELDS, partial=partial)
    for name, value in values.items():
        setattr(project, name, value)
    await session.commit()
    return project


async def delete_project(
    session: AsyncSession, caller: Caller, project_uuid: uuid.UUID | str
) -> None:
    """Delete a project (staff, or an owner of its customer); its grants go with it.

    Raises:
        NotAuthenticated, NotFound, PermissionDenied.
    """
    ensure_authenticated(caller)
    project = await get_visible_project(session, caller, project_uuid)
    await ensure_owner_or_staff(session, caller, project.customer_id)
    await _publish_holders_of(session, UserRole.project_id == project.id)
    await session.delete(project)
    await session.commit()


async def _publish_holders_of(session: AsyncSession, in_scope: ColumnElement[bool]) -> None:
    """The grants of a scope about to be deleted go with it: their holders' permissions change."""
    holders = select(User.uuid).join(UserRole, UserRole.user_id == User.id)
    uuids = await session.scalars(holders.where(in_scope, is_current(UserRole)))
    await publish_permissions_changed(session, *uuids)
