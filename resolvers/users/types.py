"""GraphQL types of the users domain: ``User``, ``Permission``, ``Role``, ``Customer``,
``Project``, the ``Scope`` union and the ``users`` connection; all but ``Role`` are ``Node``s,
and customers, projects and users lead to each other through nested connections
(``resolvers/users/connections.py``).

``User`` is generated from ``user_fields``: one field per entry, named the camelCase of its
REST name, typed, described and shown by the entry. A ``User`` carries the set of fields its
caller may read (``shaping.readable_fields``, the rule the REST shim renders from); an entry
outside it resolves to null, which is why exactly the entries some caller may not read are
nullable.

The fields of ``User`` and ``Permission`` have no resolver, but for the nested connections
and ``id``: Strawberry reads each as an attribute, which spares graphql-core an ``Info``, the
arguments and a coroutine per field and item. They are descriptors (``Computed``) that compute
the value when it is read, from the users row, the settings and what was loaded for them. The
users queries load what their document selects for the whole page before any field is read
(``planning.py``), a permission's role, scope and customer with it (``GraphObjects``); a part
nobody loaded (a mutation payload's user, the objects of a customer's or project's
permissions, say) reads as an awaitable that loads it through the request's DataLoaders,
batched for every item, which graphql-core awaits like a resolver's coroutine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Annotated, Any, TypeAlias, TypeVar, cast
from uuid import UUID

import strawberry
from strawberry.types.field import StrawberryField

from gql_users.accounts.filters import UserFilter
from gql_users.accounts.keyset import position_of
from gql_users.accounts.listing import count_users
from gql_users.accounts.permission_scopes import (
    CustomerRecord,
    RoleRecord,
    ScopedPermissions,
)
from gql_users.accounts.permissions import PermissionRow
from gql_users.accounts.scope_links import (
    PERMISSIONS_OF_SCOPE,
    PROJECTS_OF_CUSTOMER,
    SCOPES_OF_USER,
)
from gql_users.accounts.scopes import ScopeKind
from gql_users.accounts.shaping import readable_field_names, readable_fields
from gql_users.accounts.user_fields import (
    FIELD_BY_NAME,
    USER_FIELD_TABLE,
    Source,
    UserDetails,
    UserField,
)
from gql_users.accounts.user_rows import UserRecord
from gql_users.db import models
from resolvers.context import Context, Info
from resolvers.node import Node
from resolvers.users.connections import Connection, PageInfo, nested_connection


@strawberry.type(description="A role that users hold in a customer or a project.")
class Role:
    uuid: UUID
    name: str
    description: str
    scope_type: str = strawberry.field(description='"customer" or "project".')
    is_active: bool
    is_system_role: bool

    @classmethod
    def from_model(cls, role: models.Role | RoleRecord) -> Role:
        return cls(
            uuid=role.uuid,
            name=role.name,
            description=role.description,
            scope_type=role.scope_type,
            is_active=role.is_active,
            is_system_role=role.is_system_role,
        )


@strawberry.type(description="An organisation; holds projects.")
class Customer(Node):
    uuid: UUID
    name: str
    abbreviation: str
    description: str
    created: datetime
    pk: strawberry.Private[int]

    def node_uuid(self) -> UUID:
        return self.uuid

    @classmethod
    def from_model(cls, customer: models.Customer | CustomerRecord) -> Customer:
        return cls(
            uuid=customer.uuid,
            name=customer.name,
            abbreviation=customer.abbreviation,
            description=customer.description,
            created=customer.created,
            pk=customer.id,
        )

    @strawberry.field(description="The customer's projects that you may see, by name.")
    async def projects(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Project]:
        loaders = info.context.scope_loaders
        return await nested_connection(
            info,
            parent_id=self.pk,
            first=first,
            after=after,
            slices=loaders.projects_of_customers,
            counts=loaders.project_counts,
            columns=PROJECTS_OF_CUSTOMER,
            node=Project.from_model,
            position=lambda project: position_of(project, PROJECTS_OF_CUSTOMER),
        )

    @strawberry.field(
        description="Who holds which current customer-level role here, oldest grant first; "
        "only holders you may see."
    )
    async def permissions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Permission]:
        return await _scope_permissions(info, ScopeKind.CUSTOMER, self.pk, first, after)


@strawberry.type(description="A project of a customer.")
class Project(Node):
    uuid: UUID
    name: str
    description: str
    created: datetime
    pk: strawberry.Private[int]
    customer_id: strawberry.Private[int]
    known_customer: strawberry.Private[Customer | None] = None
    """The customer, when it was loaded with the project (else read through a loader)."""

    def node_uuid(self) -> UUID:
        return self.uuid

    @strawberry.field(
        description="Who holds which current role in the project, oldest grant first; only "
        "holders you may see."
    )
    async def permissions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Permission]:
        return await _scope_permissions(info, ScopeKind.PROJECT, self.pk, first, after)

    @strawberry.field(graphql_type=Customer)
    def customer(self, info: Info) -> Customer | Awaitable[Customer]:
        if self.known_customer is not None:
            return self.known_customer
        return _customer_of(info.context, self.customer_id)

    @classmethod
    def from_model(cls, project: models.Project) -> Project:
        return cls(
            uuid=project.uuid,
            name=project.name,
            description=project.description,
            created=project.created,
            pk=project.id,
            customer_id=project.customer_id,
        )


async def _customer_of(context: Context, customer_id: int) -> Customer:
    customer = await context.loaders.customers.load(customer_id)
    assert customer is not None, "projects.customer_id is a non-null foreign key"
    return Customer.from_model(customer)


async def _scope_permissions(
    info: Info, kind: ScopeKind, scope_id: int, first: int | None, after: str | None
) -> Connection[Permission]:
    loaders = info.context.scope_loaders
    return await nested_connection(
        info,
        parent_id=scope_id,
        first=first,
        after=after,
        slices=loaders.permissions[kind],
        counts=loaders.permission_counts[kind],
        columns=PERMISSIONS_OF_SCOPE,
        node=lambda row: Permission(info.context, row),
        position=lambda row: (row.uuid,),
    )


Scope = Annotated[Customer | Project, strawberry.union("Scope")]


class GraphObjects:
    """The GraphQL objects of one ``load_scoped_permissions``: one per role, customer and
    project, made when a permission's field first reads it."""

    def __init__(self, loaded: ScopedPermissions) -> None:
        self.loaded = loaded
        self._roles: dict[int, Role] = {}
        self._customers: dict[int, Customer] = {}
        self._projects: dict[int, Project] = {}

    def role(self, role_id: int) -> Role:
        found = self._roles.get(role_id)
        if found is None:
            found = self._roles[role_id] = Role.from_model(self.loaded.roles[role_id])
        return found

    def customer(self, customer_id: int) -> Customer:
        found = self._customers.get(customer_id)
        if found is None:
            record = self.loaded.customers[customer_id]
            found = self._customers[customer_id] = Customer.from_model(record)
        return found

    def project(self, project_id: int) -> Project:
        found = self._projects.get(project_id)
        if found is None:
            record = self.loaded.projects[project_id]
            customer = self.customer(record.customer.id)
            found = self._projects[project_id] = Project(
                uuid=record.uuid,
                name=record.name,
                description=record.description,
                created=record.created,
                pk=record.id,
                customer_id=customer.pk,
                known_customer=customer,
            )
        return found

    def role_of(self, row: PermissionRow) -> Role:
        return self.role(row.role_id)

    def scope_of(self, row: PermissionRow) -> Customer | Project:
        if row.scope_type == "customer":
            return self.customer(row.scope_id)
        return self.project(row.scope_id)

    def customer_of(self, row: PermissionRow) -> Customer | None:
        """The project's customer; None for a customer-level role."""
        return None if row.customer_id is None else self.customer(row.customer_id)

    def related(self, name: str, row: PermissionRow) -> Role | Customer | Project | None:
        """The role, the scope or the project's customer (``name``) of a loaded permission."""
        return RELATED_OF[name](self, row)

    def permissions(self, context: Context, rows: list[PermissionRow]) -> list[Permission]:
        return [Permission(context, row, self) for row in rows]


RELATED_OF: dict[str, Callable[[GraphObjects, PermissionRow], Role | Customer | Project | None]] = {
    "role": GraphObjects.role_of,
    "scope": GraphObjects.scope_of,
    "customer": GraphObjects.customer_of,
}
"""How a ``Permission``'s role, scope and customer are read from its ``GraphObjects``."""

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
RELATED_FIELDS = frozenset({"role", "scope", "customer"})

NOT_LOADED: Any = object()
"""A user nobody looked up yet (distinct from None: looked up, unknown or not visible)."""


@strawberry.type(description="An active role of a user in a customer or a project.")
class Permission(Node):
    """A permission's fields are read from its row, from the objects it refers to (its
    ``GraphObjects``, when they were loaded with it, else loaded by id through the request's
    DataLoaders) and from its holder and creator as the caller may see them (planned, else
    loaded)."""

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
    user: User | None = strawberry.field(
        description="Who holds the role; null when not visible to you."
    )
    created_by: User | None = strawberry.field(
        description="Who granted the role; null when unknown or not visible to you."
    )

    def __init__(
        self, context: Context, row: PermissionRow, objects: GraphObjects | None = None
    ) -> None:
        self.row = row
        self.objects = objects
        self._context = context
        self._holder: User | Exception | None = NOT_LOADED
        self._creator: User | Exception | None = (
            NOT_LOADED if row.created_by_id is not None else None
        )

    def __repr__(self) -> str:
        return f"Permission(id={self.row.id})"

    def node_uuid(self) -> UUID:
        return self.row.uuid

    def plan_creator(self, creator: User | Exception | None) -> None:
        """Who granted the role as the caller may see them (None: unknown or not visible),
        or why that could not be loaded (raised by each field that needs it)."""
        self._creator = creator

    def plan_holder(self, holder: User | Exception | None) -> None:
        """Who holds the role as the caller may see them (None: not visible), or why that
        could not be loaded."""
        self._holder = holder

    def read(self, name: str) -> object:
        """The value of the field ``name`` (its Python name)."""
        attribute = PERMISSION_ROW_ATTRIBUTES.get(name)
        if attribute is not None:
            return getattr(self.row, attribute)
        if name in RELATED_FIELDS:
            if self.objects is not None:
                return self.objects.related(name, self.row)
            if name == "customer" and self.row.customer_id is None:
                return None
            return self._related_later(name)
        if name == "user":
            holder = self._holder
            if holder is NOT_LOADED:
                return self._holder_later()
            if isinstance(holder, Exception):
                raise holder
            return holder
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

    async def _visible_user(self, user_id: int) -> User | None:
        found = await self._context.loaders.visible_users.load(user_id)
        # A nested user is one of many on the page: never with the caller's own token.
        return User.shaped(self._context, found, items_on_page=0) if found else None

    async def _creator_later(self, name: str) -> object:
        created_by_id = self.row.created_by_id
        assert created_by_id is not None
        self._creator = await self._visible_user(created_by_id)
        return self._about_creator(name)

    async def _holder_later(self) -> User | None:
        self._holder = holder = await self._visible_user(self.row.user_id)
        return holder

    async def _related_later(self, name: str) -> Role | Customer | Project:
        """The role, scope or customer (of a project-level role) loaded by id."""
        loaders = self._context.loaders
        row = self.row
        if name == "role":
            role = await loaders.roles.load(row.role_id)
            assert role is not None, "user_roles.role_id is a non-null foreign key"
            return Role.from_model(role)
        if name == "scope" and row.scope_type == "project":
            project = await loaders.projects.load(row.scope_id)
            assert project is not None, "permissions are loaded with their scope"
            return Project.from_model(project)
        customer_id = row.scope_id if name == "scope" else row.customer_id
        assert customer_id is not None, "a project-level role has the project's customer"
        return await _customer_of(self._context, customer_id)


T = TypeVar("T")
AnyUser: TypeAlias = models.User | UserRecord
ScopeNode = TypeVar("ScopeNode", "Customer", "Project")


@cache
def _field_set(fields: tuple[str, ...]) -> frozenset[str]:
    """The set of a shape of body's fields (``readable_fields`` gives one of a few tuples)."""
    return frozenset(fields)


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
class User(Node):
    """One field per ``user_fields`` entry (generated), then ``ipAddress``, ``customers`` and
    ``projects``. A ``User`` carries the fields its caller may read; an entry outside them
    reads as null. ``model`` is the user, read by attribute: a ``User`` of the ORM, or a row of
    the users table (``user_rows.UserRecord``: the lists and the users a permission refers to
    are loaded as rows)."""

    model: strawberry.Private[AnyUser]
    readable: strawberry.Private[frozenset[str]]

    # docs/api-differences.md#ip-address-on-me-only
    ip_address = strawberry.field(
        graphql_type=str | None,
        description="The address you call from, as REST's me shows it: only on me, else null.",
    )

    def __init__(
        self,
        context: Context,
        model: AnyUser,
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
        user: AnyUser,
        *,
        items_on_page: int | None = None,
        client_address: str | None = None,
    ) -> User:
        """``user`` with the fields the caller may read; ``items_on_page`` as in
        ``readable_fields`` (None for a user shown on its own); ``client_address`` for ``me``."""
        fields = readable_fields(context.caller, user, items_on_page=items_on_page)
        return cls(context, user, _field_set(fields), client_address)

    @classmethod
    def shaped_all(
        cls, context: Context, users: Iterable[AnyUser], *, items_on_page: int
    ) -> list[User]:
        """``shaped`` of each of ``users`` (one of ``items_on_page`` on a page): the fields of
        the caller's two shapes of user, itself or not, are chosen once."""
        caller = context.caller
        own_id = caller.user.id if caller.user is not None else None
        shapes = {
            itself: _field_set(
                readable_field_names(caller, itself=itself, items_on_page=items_on_page)
            )
            for itself in (False, True)
        }
        return [cls(context, user, shapes[user.id == own_id]) for user in users]

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
            rows, loaded = await self._context.loaders.permissions.load(self.model.id)
            self._permissions = GraphObjects(loaded).permissions(self._context, rows)
            return self._permissions

        return load()

    def node_uuid(self) -> UUID:
        return self.model.uuid

    @strawberry.field(
        description="The customers where the user holds a current customer-level role, among "
        "those you may see, by name."
    )
    async def customers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Customer]:
        return await self._held(info, ScopeKind.CUSTOMER, Customer.from_model, first, after)

    @strawberry.field(
        description="The projects where the user holds a current project-level role, among "
        "those you may see, by name."
    )
    async def projects(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Project]:
        return await self._held(info, ScopeKind.PROJECT, Project.from_model, first, after)

    async def _held(
        self,
        info: Info,
        kind: ScopeKind,
        node: Callable[[Any], ScopeNode],
        first: int | None,
        after: str | None,
    ) -> Connection[ScopeNode]:
        loaders = info.context.scope_loaders
        columns = SCOPES_OF_USER[kind]
        return await nested_connection(
            info,
            parent_id=self.model.id,
            first=first,
            after=after,
            slices=loaders.held_scopes[kind],
            counts=loaders.held_scope_counts[kind],
            columns=columns,
            node=node,
            position=lambda scope: position_of(scope, columns),
        )


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


class RowValue(Computed):
    """A field of ``Permission`` read straight from its row (``PERMISSION_ROW_ATTRIBUTES``)."""

    __slots__ = ("_read",)

    def __init__(self, name: str, attribute: str) -> None:
        super().__init__(name)
        self._read = attrgetter(attribute)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return self._read(instance.row)


class RelatedObject(Computed):
    """The role, scope or customer of a ``Permission``: from its ``GraphObjects`` when they
    were loaded with it, else as ``read`` gives it."""

    __slots__ = ("_of",)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._of = RELATED_OF[name]

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        objects = instance.objects
        if objects is None:
            return instance.read(self.name)
        return self._of(objects, instance.row)


class Column(Computed):
    """A ``user_fields`` entry of ``User`` that is the column of its name (``Source.MODEL``),
    as ``read`` gives it: null when the caller may not read it."""

    __slots__ = ("_hideable",)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._hideable = name in HIDEABLE

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        if self._hideable and self.name not in instance.readable:
            return None
        return getattr(instance.model, self.name)


for _name, _attribute in PERMISSION_ROW_ATTRIBUTES.items():
    setattr(Permission, _name, RowValue(_name, _attribute))
for _name in RELATED_FIELDS:
    setattr(Permission, _name, RelatedObject(_name))
for _name in CREATOR_FIELDS | {"user"}:
    setattr(Permission, _name, Computed(_name))
for _entry in USER_FIELD_TABLE:
    _column = _entry.source is Source.MODEL
    setattr(User, _entry.name, Column(_entry.name) if _column else Computed(_entry.name))


@strawberry.type
class UserEdge:
    node: User
    cursor: str = strawberry.field(description="Opaque; valid only with the same orderBy.")

    def __init__(self, node: User, cursor_of: Callable[[AnyUser], str]) -> None:
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
    total: strawberry.Private[int | None] = None
    """Counted with the page when the selection asked for it (``list_users_keyset``)."""

    @strawberry.field(description="How many users the whole list holds (all pages).")
    async def total_count(self, info: Info) -> int:
        if self.total is not None:
            return self.total
        async with info.context.database() as session:
            return await count_users(session, info.context.caller, self.user_filter)
