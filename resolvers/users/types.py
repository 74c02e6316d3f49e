"""GraphQL types of the users domain: ``User``, ``Permission``, ``Role``, ``Customer``,
``Project``, the ``Scope`` union and the ``users`` connection.

``User`` is generated from ``user_fields``: one field per entry, named the camelCase of its
REST name, typed, described and shown by the entry. A ``User`` carries the set of fields its
caller may read (``shaping.readable_fields``, the rule the REST shim renders from); an entry
outside it resolves to null, which is why exactly the entries some caller may not read are
nullable.

No field of these types has a resolver: Strawberry reads each as an attribute, which spares
graphql-core an ``Info``, the arguments and a coroutine per field and item. The fields of
``User`` and ``Permission`` are descriptors (``Computed``) that compute the value when it is
read, from the users row, the settings and what was loaded for them. The queries load what
their document selects for the whole page before any field is read (``planning.py``); a part
nobody loaded (a mutation payload's user, say) reads as an awaitable that loads it through
the request's DataLoaders, which graphql-core awaits like a resolver's coroutine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast
from uuid import UUID

import strawberry
from strawberry.types.field import StrawberryField

from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import count_users
from gql_users.accounts.permission_scopes import (
    CustomerRecord,
    ProjectRecord,
    RoleRecord,
    ScopedPermission,
)
from gql_users.accounts.shaping import readable_fields
from gql_users.accounts.user_fields import (
    FIELD_BY_NAME,
    USER_FIELD_TABLE,
    Source,
    UserDetails,
    UserField,
)
from gql_users.db import models
from resolvers.context import Context, Info


@strawberry.type(description="A role that users hold in a customer or a project.")
class Role:
    uuid: UUID
    name: str
    description: str
    scope_type: str = strawberry.field(description='"customer" or "project".')
    is_active: bool
    is_system_role: bool


@strawberry.type(description="An organisation; holds projects.")
class Customer:
    uuid: UUID
    name: str
    abbreviation: str
    created: datetime


@strawberry.type(description="A project of a customer.")
class Project:
    uuid: UUID
    name: str
    created: datetime
    customer: Customer


Scope = Annotated[Customer | Project, strawberry.union("Scope")]


def _role(record: RoleRecord) -> Role:
    return Role(
        uuid=record.uuid,
        name=record.name,
        description=record.description,
        scope_type=record.scope_type,
        is_active=record.is_active,
        is_system_role=record.is_system_role,
    )


def _customer(record: CustomerRecord) -> Customer:
    return Customer(
        uuid=record.uuid, name=record.name, abbreviation=record.abbreviation, created=record.created
    )


class GraphObjects:
    """The GraphQL objects of loaded records: one per role, customer and project."""

    def __init__(self) -> None:
        self.made: dict[tuple[type, int], Any] = {}

    def one(self, record: RoleRecord | CustomerRecord | ProjectRecord, make: Any) -> Any:
        key = (type(record), record.id)
        found = self.made.get(key)
        if found is None:
            found = self.made[key] = make(record)
        return found

    def role(self, record: RoleRecord) -> Role:
        return cast(Role, self.one(record, _role))

    def customer(self, record: CustomerRecord) -> Customer:
        return cast(Customer, self.one(record, _customer))

    def scope(self, record: CustomerRecord | ProjectRecord) -> Customer | Project:
        if isinstance(record, CustomerRecord):
            return self.customer(record)
        return cast(Project, self.one(record, self._project))

    def _project(self, record: ProjectRecord) -> Project:
        return Project(
            uuid=record.uuid,
            name=record.name,
            created=record.created,
            customer=self.customer(record.customer),
        )

    def permissions(self, context: Context, loaded: list[ScopedPermission]) -> list[Permission]:
        return [Permission(context, scoped, self) for scoped in loaded]


CREATOR_NOTE = "Null when unknown or not visible to you, as createdBy."
PROJECT_CUSTOMER = "The project's customer; null for a customer-level role."

PERMISSION_ROW_ATTRIBUTES = {
    "user_uuid": "user_uuid",
    "user_name": "user_full_name",
    "user_slug": "user_slug",
    "created": "created",
    "expiration_time": "expiration_time",
    "role_name": "role_name",
    "role_description": "role_description",
    "role_uuid": "role_uuid",
    "scope_type": "scope_type",
    "scope_uuid": "scope_uuid",
    "scope_name": "scope_name",
    "customer_uuid": "customer_uuid",
    "customer_name": "customer_name",
}
"""The fields of ``Permission`` read from its ``PermissionRow``, by the row's attribute."""

CREATOR_FIELDS = frozenset({"created_by_full_name", "created_by_username", "created_by"})

NOT_LOADED: Any = object()
"""A creator nobody looked up yet (distinct from None: looked up, unknown or not visible)."""


@strawberry.type(description="An active role of a user in a customer or a project.")
class Permission:
    user_uuid: UUID
    user_name: str
    user_slug: str
    created: datetime
    expiration_time: datetime | None
    created_by_full_name: str | None = strawberry.field(description=CREATOR_NOTE)
    created_by_username: str | None = strawberry.field(description=CREATOR_NOTE)
    role_name: str
    role_description: str
    role_uuid: UUID
    scope_type: str = strawberry.field(description='"customer" or "project".')
    scope_uuid: UUID
    scope_name: str
    customer_uuid: UUID | None = strawberry.field(description=PROJECT_CUSTOMER)
    customer_name: str | None = strawberry.field(description=PROJECT_CUSTOMER)
    role: Role
    scope: Scope = strawberry.field(description="The customer or project the role is held in.")
    customer: Customer | None = strawberry.field(description=PROJECT_CUSTOMER)
    created_by: User | None = strawberry.field(
        description="Who granted the role; null when unknown or not visible to you."
    )

    def __init__(self, context: Context, scoped: ScopedPermission, objects: GraphObjects):
        self.row = scoped.row
        self.role = objects.role(scoped.role)
        self.scope = objects.scope(scoped.scope)
        self.customer = objects.customer(scoped.customer) if scoped.customer else None
        self._context = context
        self._creator: User | Exception | None = (
            NOT_LOADED if self.row.created_by_id is not None else None
        )

    def __repr__(self) -> str:
        return f"Permission(id={self.row.id})"

    def plan_creator(self, creator: User | Exception | None) -> None:
        """Who granted the role as the caller may see them (None: unknown or not visible),
        or why that could not be loaded (raised by each field that needs it)."""
        self._creator = creator

    def read(self, name: str) -> object:
        """The value of the field ``name`` (its Python name)."""
        attribute = PERMISSION_ROW_ATTRIBUTES.get(name)
        if attribute is not None:
            return getattr(self.row, attribute)
        assert name in CREATOR_FIELDS, name
        if self._creator is NOT_LOADED:
            return self._creator_later(name)
        return self._about_creator(name)

    def _about_creator(self, name: str) -> object:
        creator = self._creator
        if creator is None:
            return None
        if isinstance(creator, Exception):
            raise creator
        return creator if name == "created_by" else getattr(self.row, name)

    async def _creator_later(self, name: str) -> object:
        created_by_id = self.row.created_by_id
        assert created_by_id is not None
        found = await self._context.loaders.visible_users.load(created_by_id)
        # A nested user is one of many on the page: never with the caller's own token.
        self._creator = User.shaped(self._context, found, items_on_page=0) if found else None
        return self._about_creator(name)


T = TypeVar("T")

NO_DETAILS = UserDetails()
"""What a field computed from the users row and the settings alone is given."""

HIDEABLE = frozenset(entry.name for entry in USER_FIELD_TABLE if entry.hideable)
LOADED = {entry.name: entry.source for entry in USER_FIELD_TABLE if entry.source.loaded}
"""The fields some caller may not read, and those loaded beyond the users row (by source)."""

GRAPHQL_TYPES: dict[str, Any] = {"permissions": list[Permission]}
"""The GraphQL type of a field when it differs from its ``user_fields`` type."""


def _generated_field(entry: UserField) -> StrawberryField:
    """The GraphQL field of ``entry``: nullable when some caller may not read it."""
    graphql_type = GRAPHQL_TYPES.get(entry.name, entry.type)
    field = strawberry.field(
        name=entry.graphql_name,
        description=entry.description,
        graphql_type=graphql_type | None if entry.hideable else graphql_type,
    )
    return cast(StrawberryField, field)


def _with_table_fields(cls: type[T]) -> type[T]:
    """Declare one field per ``user_fields`` entry on ``cls``, in table order, before the
    fields written in the class (Strawberry declares fields in class-namespace order)."""
    written = {
        name: value for name, value in vars(cls).items() if isinstance(value, StrawberryField)
    }
    for name in written:
        delattr(cls, name)
    for entry in USER_FIELD_TABLE:
        setattr(cls, entry.name, _generated_field(entry))
    for name, value in written.items():
        setattr(cls, name, value)
    return cls


@strawberry.type(description="A user account, as the caller may see it.")
@_with_table_fields
class User:
    """One field per ``user_fields`` entry (generated), then ``ipAddress``. A ``User`` carries
    the fields its caller may read; an entry outside them reads as null."""

    model: strawberry.Private[models.User]
    readable: strawberry.Private[frozenset[str]]

    # docs/api-differences.md#ip-address-on-me-only
    ip_address = strawberry.field(
        graphql_type=str | None,
        description="The address you call from, as REST's me shows it: only on me, else null.",
    )

    def __init__(
        self,
        context: Context,
        model: models.User,
        readable: frozenset[str],
        client_address: str | None = None,
    ) -> None:
        self.model = model
        self.readable = readable
        self.ip_address = client_address
        self._context = context
        self._details: dict[Source, UserDetails | Exception] = {}
        self._permissions: list[Permission] | Exception | None = None

    @classmethod
    def shaped(
        cls,
        context: Context,
        user: models.User,
        *,
        items_on_page: int | None = None,
        client_address: str | None = None,
    ) -> User:
        """``user`` with the fields the caller may read; ``items_on_page`` as in
        ``readable_fields`` (None for a user shown on its own); ``client_address`` for ``me``."""
        fields = readable_fields(context.caller, user, items_on_page=items_on_page)
        return cls(context, user, frozenset(fields), client_address)

    def __repr__(self) -> str:
        return f"User(id={self.model.id})"

    def plan(self, source: Source, details: UserDetails | Exception) -> None:
        """Hand over the part of the user's details that ``source`` names, loaded already, or
        why it could not be loaded (raised by each field that needs it, as a resolver would,
        so the other fields keep their values)."""
        self._details[source] = details

    def plan_permissions(self, permissions: list[Permission] | Exception) -> None:
        self._permissions = permissions

    def read(self, name: str) -> object:
        """The value of the field ``name`` (its Python name, a ``user_fields`` entry's)."""
        entry = FIELD_BY_NAME[name]
        if name in HIDEABLE and name not in self.readable:
            return None
        source = LOADED.get(name)
        if source is None:
            return entry.value(self.model, self._context.settings, NO_DETAILS)
        if source is Source.PERMISSIONS:
            permissions = self._permissions
            if permissions is None:
                return self._permissions_later()
            if isinstance(permissions, Exception):
                raise permissions
            return permissions
        details = self._details.get(source)
        if details is None:
            return self._value_later(entry)
        if isinstance(details, Exception):
            raise details
        return entry.value(self.model, self._context.settings, details)

    async def _value_later(self, entry: UserField) -> object:
        loaders = self._context.loaders
        user_id = self.model.id
        details: UserDetails
        if entry.source is Source.TOKEN:
            details = UserDetails(token=await loaders.tokens.load(user_id))
        else:
            assert entry.source is Source.REQUESTED_EMAIL, entry.source
            details = UserDetails(requested_email=await loaders.requested_emails.load(user_id))
        self._details[entry.source] = details
        return entry.value(self.model, self._context.settings, details)

    def _permissions_later(self) -> Awaitable[list[Permission]]:
        async def load() -> list[Permission]:
            loaded = await self._context.loaders.permissions.load(self.model.id)
            self._permissions = GraphObjects().permissions(self._context, loaded)
            return self._permissions

        return load()


class Computed:
    """A field of ``User``, ``Permission`` or ``UserEdge`` as Strawberry reads it: ``read``
    computes the value. Set on the classes once Strawberry has made them (it declares the
    fields from the class as written), in place of the dataclass attributes they never hold."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(
        self, instance: User | Permission | UserEdge | None, owner: type | None = None
    ) -> Any:
        if instance is None:
            return self
        return instance.read(self.name)


for _name in PERMISSION_ROW_ATTRIBUTES.keys() | CREATOR_FIELDS:
    setattr(Permission, _name, Computed(_name))
for _entry in USER_FIELD_TABLE:
    setattr(User, _entry.name, Computed(_entry.name))


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class UserEdge:
    node: User
    cursor: str = strawberry.field(description="Opaque; valid only with the same orderBy.")

    def __init__(self, node: User, cursor_of: Callable[[models.User], str]) -> None:
        self.node = node
        self._cursor_of = cursor_of

    def read(self, name: str) -> object:
        """The cursor, made when it is read (signing one costs more than most fields)."""
        assert name == "cursor", name
        return self._cursor_of(self.node.model)


UserEdge.cursor = Computed("cursor")  # type: ignore[assignment]


@strawberry.type(description="A page of users in a keyset-paged list.")
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    user_filter: strawberry.Private[UserFilter]

    @strawberry.field(description="How many users the whole list holds (all pages).")
    async def total_count(self, info: Info) -> int:
        async with info.context.database() as session:
            return await count_users(session, info.context.caller, self.user_filter)
