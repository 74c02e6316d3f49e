"""Role grants in a customer or a project: grant, change the expiration, revoke and list, the same
for REST and GraphQL (docs/writes.md#roles).

Who may manage roles (docs/writes.md#who-may-grant-what): staff, any role anywhere; an owner of a
customer, the roles of the customer and of its projects; a manager of a project, the member
role of that project, never their own. A scope the caller may not see is 404; a visible scope
where the caller may manage no role is 403, before the input is read; a role beyond what the
caller may manage is 403 once the input names it.

Each write publishes ``permissionsChanged`` for the grant's user in its transaction, just
before its commit (``permissions.publish_permissions_changed``: delivered only if the commit
succeeds), so live subscribers re-read the roles as committed.

Input is a mapping of plain values, Waldur's body: ``role`` (a name or a uuid), ``user`` (a
uuid) and ``expiration_time`` (ISO date or datetime, or null). GraphQL passes the same keys
through ``already_read({...})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gql_users.accounts.callers import Caller, ensure_authenticated
from gql_users.accounts.errors import PermissionDenied, ValidationFailed
from gql_users.accounts.grants import is_current
from gql_users.accounts.operations import InputReader
from gql_users.accounts.organisations import (
    CUSTOMER_OWNER,
    NOT_NULL,
    PROJECT_MANAGER,
    PROJECT_MEMBER,
    ScopeType,
    get_visible_customer,
    get_visible_project,
    holds_role,
)
from gql_users.accounts.pagination import Page, PageRequest
from gql_users.accounts.permissions import full_name, publish_permissions_changed
from gql_users.accounts.validation import (
    BLANK,
    NOT_A_STRING,
    NULL_CHARACTERS,
    REQUIRED,
    is_null,
    parse_uuid,
)
from gql_users.accounts.visibility import visible_users
from gql_users.db.conflicts import unique_violation
from gql_users.db.models import Customer, Project, Role, User, UserRole, utcnow

ROLE_NOT_FOUND = "Role is not found."
USER_NOT_FOUND = "User is not found."
INVALID_UUID = "Must be a valid UUID."
INVALID_DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
EXPIRATION_IN_PAST = "Expiration time should be greater than current time."
ALREADY_GRANTED = "User has already the same role in this scope."
WRONG_SCOPE = "Role is not valid for this scope."
ROLE_INACTIVE = "Role is not active."
OWN_ROLE = "User can not manage own role."
NOT_GRANTED = "User does not have this role in this scope."

NON_FIELD = "non_field_errors"


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """The customer or project a grant is made in, as the request names it."""

    type: ScopeType
    uuid: UUID | str


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """Validated input: the role, the user and the expiration time (None: permanent)."""

    role: Role
    user: User
    expiration_time: datetime | None


@dataclass(frozen=True, slots=True)
class ScopeGrant:
    """One current grant in a scope, with its holder and its creator, as ``list_users`` shows
    it."""

    uuid: UUID
    created: datetime
    expiration_time: datetime | None
    role_name: str
    role_uuid: UUID
    user_uuid: UUID
    user_username: str
    user_email: str
    user_full_name: str
    user_image: str | None
    created_by_uuid: UUID | None
    created_by_full_name: str | None


@dataclass(frozen=True, slots=True)
class GrantFilter:
    """``list_users``' filters: one user's grants, roles by name or uuid, a search string
    matched against the holder's names, email and username."""

    user: UUID | None = None
    roles: tuple[str, ...] = ()
    search: str | None = None


# --- the scope and who may manage it --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scope:
    row: Customer | Project
    customer_id: int

    @property
    def type(self) -> ScopeType:
        return "customer" if isinstance(self.row, Customer) else "project"

    def condition(self) -> ColumnElement[bool]:
        """The grants made in this scope."""
        if isinstance(self.row, Customer):
            return UserRole.customer_id == self.row.id
        return UserRole.project_id == self.row.id


async def _find_scope(session: AsyncSession, caller: Caller, scope: ScopeRef) -> _Scope:
    if scope.type == "customer":
        customer = await get_visible_customer(session, caller, scope.uuid)
        return _Scope(customer, customer.id)
    project = await get_visible_project(session, caller, scope.uuid)
    return _Scope(project, project.customer_id)


async def _manager_only(session: AsyncSession, caller: Caller, scope: _Scope) -> bool:
    """False when the caller may manage every role of the scope, True when only the member
    role (a project manager).

    Raises:
        PermissionDenied: the caller may manage no role here.
    """
    user = ensure_authenticated(caller)
    if user.is_staff or await holds_role(
        session, user.id, CUSTOMER_OWNER, customer_id=scope.customer_id
    ):
        return False
    if scope.type == "project" and await holds_role(
        session, user.id, PROJECT_MANAGER, project_id=scope.row.id
    ):
        return True
    raise PermissionDenied()


async def _checked(
    session: AsyncSession, caller: Caller, scope_ref: ScopeRef
) -> tuple[_Scope, bool]:
    ensure_authenticated(caller)
    scope = await _find_scope(session, caller, scope_ref)
    return scope, await _manager_only(session, caller, scope)


def _ensure_within_reach(caller: Caller, request: GrantRequest, manager_only: bool) -> None:
    """A project manager manages the member role only, and never their own."""
    if not manager_only:
        return
    if request.role.name != PROJECT_MEMBER:
        raise PermissionDenied()
    if caller.user is not None and request.user.id == caller.user.id:
        raise ValidationFailed({NON_FIELD: [OWN_ROLE]})


# --- input ----------------------------------------------------------------------------------


def parse_expiration_time(value: Any) -> datetime | None:
    """An ISO-8601 datetime (naive means UTC) or date (midnight UTC), or null.

    Raises:
        ValueError: DRF's DateTimeField message, or the message for a time already past.
    """
    if is_null(value):  # JSON null, or a form's empty value, "None" or "null"
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time.min)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = (
                datetime.combine(date.fromisoformat(text), time.min)
                if len(text) == 10
                else datetime.fromisoformat(text.replace("Z", "+00:00"))
            )
        except ValueError:
            raise ValueError(INVALID_DATETIME) from None
    else:
        raise ValueError(INVALID_DATETIME)
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(INVALID_DATETIME) from None
    if parsed < utcnow():
        raise ValueError(EXPIRATION_IN_PAST)
    return parsed


async def _read_request(
    session: AsyncSession, read_input: InputReader[Mapping[str, Any]]
) -> GrantRequest:
    """Validate ``role``, ``user`` and ``expiration_time``, every bad field at once.

    Raises:
        ValidationFailed: ``{"role": ["Role is not found."]}``, ``{"user": [...]}``, ...
    """
    data = await read_input()
    errors: dict[str, list[str]] = {}
    role = await _role_field(session, data, errors)
    user = await _user_field(session, data, errors)
    expiration_time = None
    try:
        expiration_time = parse_expiration_time(data.get("expiration_time"))
    except ValueError as error:
        errors["expiration_time"] = [str(error)]
    if errors:
        raise ValidationFailed(errors)
    assert role is not None and user is not None
    return GrantRequest(role=role, user=user, expiration_time=expiration_time)


def _present_text(data: Mapping[str, Any], name: str, errors: dict[str, list[str]]) -> str | None:
    if name not in data:
        errors[name] = [REQUIRED]
        return None
    value = data[name]
    if value is None:
        errors[name] = [NOT_NULL]
        return None
    if isinstance(value, UUID):
        return str(value)
    if not isinstance(value, str):
        errors[name] = [NOT_A_STRING if name == "role" else INVALID_UUID]
        return None
    if "\x00" in value:
        errors[name] = [NULL_CHARACTERS]
        return None
    if not value.strip():
        errors[name] = [BLANK]
        return None
    return value.strip()


async def _role_field(
    session: AsyncSession, data: Mapping[str, Any], errors: dict[str, list[str]]
) -> Role | None:
    text = _present_text(data, "role", errors)
    if text is None:
        return None
    as_uuid = parse_uuid(text)
    role = await session.scalar(
        select(Role).where(Role.uuid == as_uuid if as_uuid is not None else Role.name == text)
    )
    if role is None:
        errors["role"] = [ROLE_NOT_FOUND]
    return role


async def _user_field(
    session: AsyncSession, data: Mapping[str, Any], errors: dict[str, list[str]]
) -> User | None:
    text = _present_text(data, "user", errors)
    if text is None:
        return None
    as_uuid = parse_uuid(text)
    if as_uuid is None:
        errors["user"] = [INVALID_UUID]
        return None
    user = await session.scalar(select(User).where(User.uuid == as_uuid))
    if user is None:
        errors["user"] = [USER_NOT_FOUND]
    return user


# --- writes ---------------------------------------------------------------------------------


def _held(scope: _Scope, request: GrantRequest) -> Select[UserRole]:
    return select(UserRole).where(
        scope.condition(),
        UserRole.user_id == request.user.id,
        UserRole.role_id == request.role.id,
        is_current(UserRole),
    )


async def grant_role(
    session: AsyncSession,
    caller: Caller,
    scope_ref: ScopeRef,
    read_input: InputReader[Mapping[str, Any]],
) -> UserRole:
    """Grant ``role`` to ``user`` in the scope, until ``expiration_time`` if given, recording
    the caller as its creator.

    One current grant per user, role and scope: the database's partial unique indexes decide
    between parallel grants, and the loser gets the same validation error as a repeated grant.
    An expired grant still marked active is deactivated first, so the role can be granted
    again.

    Raises:
        NotAuthenticated; NotFound (a scope the caller may not see); PermissionDenied (the
        caller may not manage roles here, or not this role);
        ValidationFailed: bad input, ``{"non_field_errors": ["User has already the same role
        in this scope."]}``, "Role is not valid for this scope.", "Role is not active.",
        "User can not manage own role.".
    """
    scope, manager_only = await _checked(session, caller, scope_ref)
    request = await _read_request(session, read_input)
    _ensure_within_reach(caller, request, manager_only)
    if request.role.scope_type != scope.type:
        raise ValidationFailed({NON_FIELD: [WRONG_SCOPE]})
    if not request.role.is_active:
        raise ValidationFailed({NON_FIELD: [ROLE_INACTIVE]})
    if await session.scalar(_held(scope, request)) is not None:
        raise ValidationFailed({NON_FIELD: [ALREADY_GRANTED]})
    await session.execute(
        update(UserRole)
        .where(
            scope.condition(),
            UserRole.user_id == request.user.id,
            UserRole.role_id == request.role.id,
            UserRole.is_active.is_(True),
            UserRole.expiration_time <= utcnow(),
        )
        .values(is_active=False)
    )
    assert caller.user is not None
    grant = UserRole(
        user_id=request.user.id,
        role_id=request.role.id,
        customer_id=scope.row.id if scope.type == "customer" else None,
        project_id=scope.row.id if scope.type == "project" else None,
        created_by_id=caller.user.id,
        expiration_time=request.expiration_time,
    )
    session.add(grant)
    await publish_permissions_changed(session, request.user.uuid)
    try:
        await session.commit()
    except IntegrityError as error:
        await session.rollback()
        violation = unique_violation(error)
        if violation is not None and violation.table == UserRole.__tablename__:
            raise ValidationFailed({NON_FIELD: [ALREADY_GRANTED]}) from None
        raise
    return grant


async def update_role_expiration(
    session: AsyncSession,
    caller: Caller,
    scope_ref: ScopeRef,
    read_input: InputReader[Mapping[str, Any]],
) -> UserRole:
    """Set the expiration time of the user's current grant of the role in the scope; an
    absent or null ``expiration_time`` makes it permanent.

    Raises:
        NotAuthenticated, NotFound, PermissionDenied, ValidationFailed as ``grant_role``;
        ValidationFailed: ``{"non_field_errors": ["User does not have this role in this
        scope."]}``.
    """
    scope, manager_only = await _checked(session, caller, scope_ref)
    request = await _read_request(session, read_input)
    _ensure_within_reach(caller, request, manager_only)
    grant = await session.scalar(_held(scope, request).with_for_update())
    if grant is None:
        raise ValidationFailed({NON_FIELD: [NOT_GRANTED]})
    grant.expiration_time = request.expiration_time
    await publish_permissions_changed(session, request.user.uuid)
    await session.commit()
    return grant


async def revoke_role(
    session: AsyncSession,
    caller: Caller,
    scope_ref: ScopeRef,
    read_input: InputReader[Mapping[str, Any]],
) -> bool:
    """Revoke the user's current grant of the role in the scope (the row stays, inactive).

    Returns:
        Whether there was a grant to revoke (revoking one that is not held is a success too,
        as in Waldur).

    Raises:
        NotAuthenticated, NotFound, PermissionDenied, ValidationFailed as ``grant_role``.
    """
    scope, manager_only = await _checked(session, caller, scope_ref)
    request = await _read_request(session, read_input)
    _ensure_within_reach(caller, request, manager_only)
    grant = await session.scalar(_held(scope, request).with_for_update())
    if grant is None:
        return False
    grant.is_active = False
    await publish_permissions_changed(session, request.user.uuid)
    await session.commit()
    return True


# --- listing --------------------------------------------------------------------------------


def _grants_statement(
    caller: Caller, scope: _Scope, grant_filter: GrantFilter
) -> Select[*tuple[Any, ...]]:
    holder = aliased(User, name="holder")
    creator = aliased(User, name="creator")
    statement: Select[*tuple[Any, ...]] = (
        select(
            UserRole.uuid,
            UserRole.created,
            UserRole.expiration_time,
            Role.name.label("role_name"),
            Role.uuid.label("role_uuid"),
            holder.uuid.label("user_uuid"),
            holder.username.label("user_username"),
            holder.email.label("user_email"),
            holder.first_name.label("user_first_name"),
            holder.last_name.label("user_last_name"),
            holder.image.label("user_image"),
            creator.uuid.label("created_by_uuid"),
            creator.first_name.label("created_by_first_name"),
            creator.last_name.label("created_by_last_name"),
            UserRole.id,
        )
        .join(holder, holder.id == UserRole.user_id)
        .join(Role, Role.id == UserRole.role_id)
        .outerjoin(creator, creator.id == UserRole.created_by_id)
        .where(
            scope.condition(),
            is_current(UserRole),
            holder.id.in_(visible_users(caller).with_only_columns(User.id)),
        )
    )
    if grant_filter.user is not None:
        statement = statement.where(holder.uuid == grant_filter.user)
    if grant_filter.roles:
        uuids = [parsed for value in grant_filter.roles if (parsed := parse_uuid(value))]
        names = [value for value in grant_filter.roles if parse_uuid(value) is None]
        statement = statement.where(or_(Role.uuid.in_(uuids), Role.name.in_(names)))
    if grant_filter.search:
        pattern = f"%{grant_filter.search.lower()}%"
        statement = statement.where(
            or_(
                *(
                    func.lower(column).like(pattern)
                    for column in (
                        holder.first_name,
                        holder.last_name,
                        holder.email,
                        holder.username,
                    )
                )
            )
        )
    return statement


async def _team(
    session: AsyncSession, caller: Caller, scope_ref: ScopeRef, grant_filter: GrantFilter | None
) -> Select[*tuple[Any, ...]]:
    ensure_authenticated(caller)
    scope = await _find_scope(session, caller, scope_ref)
    return _grants_statement(caller, scope, grant_filter or GrantFilter())


async def _count(session: AsyncSession, statement: Select[*tuple[Any, ...]]) -> int:
    return await session.scalar(select(func.count()).select_from(statement.subquery())) or 0


async def list_scope_grants(
    session: AsyncSession,
    caller: Caller,
    scope_ref: ScopeRef,
    page_request: PageRequest,
    grant_filter: GrantFilter | None = None,
) -> tuple[list[ScopeGrant], Page]:
    """A page of the scope's current grants whose holders the caller may see, oldest first.

    Anyone who may see the scope may list its team; docs/visibility.md#visible-users decides
    which holders they see.

    Raises:
        NotAuthenticated; NotFound (a scope the caller may not see, or a page out of range).
    """
    statement = await _team(session, caller, scope_ref, grant_filter)
    page = page_request.resolve(await _count(session, statement))
    rows = await session.execute(
        statement.order_by(UserRole.created, UserRole.id).offset(page.offset).limit(page.limit)
    )
    return [_scope_grant(row) for row in rows], page


async def count_scope_grants(
    session: AsyncSession,
    caller: Caller,
    scope_ref: ScopeRef,
    grant_filter: GrantFilter | None = None,
) -> int:
    """How many grants ``list_scope_grants`` lists in all (HEAD).

    Raises:
        NotAuthenticated, NotFound as ``list_scope_grants``.
    """
    return await _count(session, await _team(session, caller, scope_ref, grant_filter))


def _scope_grant(row: Any) -> ScopeGrant:
    has_creator = row.created_by_uuid is not None
    return ScopeGrant(
        uuid=row.uuid,
        created=row.created,
        expiration_time=row.expiration_time,
        role_name=row.role_name,
        role_uuid=row.role_uuid,
        user_uuid=row.user_uuid,
        user_username=row.user_username,
        user_email=row.user_email,
        user_full_name=full_name(row.user_first_name, row.user_last_name),
        user_image=row.user_image,
        created_by_uuid=row.created_by_uuid,
        created_by_full_name=(
            full_name(row.created_by_first_name, row.created_by_last_name) if has_creator else None
        ),
    )
