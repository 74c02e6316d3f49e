"""GraphQL types of the users domain: ``User``, ``Permission``, ``Role``, ``Customer``,
``Project``, the ``Scope`` union and the ``users`` connection; all but ``Role`` are ``Node``s,
and customers, projects and users lead to each other through nested connections
(``resolvers/users/connections.py``).

``User`` is generated from ``user_fields``: one field per entry, named the camelCase of its
REST name, typed, described and shown by the entry. A ``User`` carries the set of fields its
caller may read (``shaping.readable_fields``, the rule the REST shim renders from); an entry
outside it resolves to null, which is why exactly the entries some caller may not read are
nullable. Fields computed from the users row are sync resolvers; only fields whose entry
loads details (token, permissions, requested email) are ``async``, through a DataLoader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast
from uuid import UUID

import strawberry
from strawberry.types.field import StrawberryField

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.keyset import position_of
from gql_users.accounts.listing import count_users
from gql_users.accounts.permissions import PermissionRow
from gql_users.accounts.scope_links import (
    PERMISSIONS_OF_SCOPE,
    PROJECTS_OF_CUSTOMER,
    SCOPES_OF_USER,
)
from gql_users.accounts.scopes import ScopeKind
from gql_users.accounts.shaping import readable_fields
from gql_users.accounts.user_fields import USER_FIELD_TABLE, Source, UserDetails, UserField
from gql_users.db import models
from resolvers.context import Info
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
    def from_model(cls, role: models.Role) -> Role:
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
    def from_model(cls, customer: models.Customer) -> Customer:
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

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        customer = await info.context.loaders.customers.load(self.customer_id)
        assert customer is not None, "projects.customer_id is a non-null foreign key"
        return Customer.from_model(customer)

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
        node=lambda row: Permission(row=row),
        position=lambda row: (row.uuid,),
    )


Scope = Annotated[Customer | Project, strawberry.union("Scope")]


@strawberry.type(description="An active role of a user in a customer or a project.")
class Permission(Node):
    row: strawberry.Private[PermissionRow]

    def node_uuid(self) -> UUID:
        return self.row.uuid

    @strawberry.field
    def user_uuid(self) -> UUID:
        return self.row.user_uuid

    @strawberry.field
    def user_name(self) -> str:
        return self.row.user_full_name

    @strawberry.field
    def user_slug(self) -> str:
        return self.row.user_slug

    @strawberry.field
    def created(self) -> datetime:
        return self.row.created

    @strawberry.field
    def expiration_time(self) -> datetime | None:
        return self.row.expiration_time

    async def _creator(self, info: Info) -> models.User | None:
        """Who granted the role, if the caller may see them (else None, as for ``createdBy``)."""
        if self.row.created_by_id is None:
            return None
        return await info.context.loaders.visible_users.load(self.row.created_by_id)

    @strawberry.field(description="Null when unknown or not visible to you, as createdBy.")
    async def created_by_full_name(self, info: Info) -> str | None:
        return self.row.created_by_full_name if await self._creator(info) else None

    @strawberry.field(description="Null when unknown or not visible to you, as createdBy.")
    async def created_by_username(self, info: Info) -> str | None:
        return self.row.created_by_username if await self._creator(info) else None

    @strawberry.field
    def role_name(self) -> str:
        return self.row.role_name

    @strawberry.field
    def role_description(self) -> str:
        return self.row.role_description

    @strawberry.field
    def role_uuid(self) -> UUID:
        return self.row.role_uuid

    @strawberry.field(description='"customer" or "project".')
    def scope_type(self) -> str:
        return self.row.scope_type

    @strawberry.field
    def scope_uuid(self) -> UUID:
        return self.row.scope_uuid

    @strawberry.field
    def scope_name(self) -> str:
        return self.row.scope_name

    @strawberry.field(description="The project's customer; null for a customer-level role.")
    def customer_uuid(self) -> UUID | None:
        return self.row.customer_uuid

    @strawberry.field(description="The project's customer; null for a customer-level role.")
    def customer_name(self) -> str | None:
        return self.row.customer_name

    @strawberry.field
    async def role(self, info: Info) -> Role:
        role = await info.context.loaders.roles.load(self.row.role_id)
        assert role is not None, "user_roles.role_id is a non-null foreign key"
        return Role.from_model(role)

    @strawberry.field(description="The customer or project the role is held in.")
    async def scope(self, info: Info) -> Scope:
        loaders = info.context.loaders
        if self.row.scope_type == "customer":
            customer = await loaders.customers.load(self.row.scope_id)
            assert customer is not None, "permissions are loaded with their scope"
            return Customer.from_model(customer)
        project = await loaders.projects.load(self.row.scope_id)
        assert project is not None, "permissions are loaded with their scope"
        return Project.from_model(project)

    @strawberry.field(description="The project's customer; null for a customer-level role.")
    async def customer(self, info: Info) -> Customer | None:
        if self.row.customer_id is None:
            return None
        customer = await info.context.loaders.customers.load(self.row.customer_id)
        return Customer.from_model(customer) if customer else None

    @strawberry.field(description="Who holds the role; null when not visible to you.")
    async def user(self, info: Info) -> User | None:
        holder = await info.context.loaders.visible_users.load(self.row.user_id)
        # One of many on a page: never with the caller's own token.
        return User.shaped(info.context.caller, holder, items_on_page=0) if holder else None

    @strawberry.field(description="Who granted the role; null when unknown or not visible to you.")
    async def created_by(self, info: Info) -> User | None:
        creator = await self._creator(info)
        if creator is None:
            return None
        # A nested user is one of many on the page: never with the caller's own token.
        return User.shaped(info.context.caller, creator, items_on_page=0)


T = TypeVar("T")
ScopeNode = TypeVar("ScopeNode", "Customer", "Project")

NO_DETAILS = UserDetails()
"""What a field computed from the users row and the settings alone is given."""


async def _details(info: Info, user_id: int, source: Source) -> UserDetails:
    """The part of the user's details ``source`` names, from the request's DataLoaders."""
    loaders = info.context.loaders
    if source is Source.TOKEN:
        return UserDetails(token=await loaders.tokens.load(user_id))
    if source is Source.PERMISSIONS:
        return UserDetails(permissions=await loaders.permissions.load(user_id))
    assert source is Source.REQUESTED_EMAIL, source
    return UserDetails(requested_email=await loaders.requested_emails.load(user_id))


@dataclass(frozen=True, slots=True)
class Nested:
    """How the GraphQL type of a field differs from its ``user_fields`` type."""

    type: Any
    convert: Callable[[Any], object]


NESTED: dict[str, Nested] = {
    "permissions": Nested(list[Permission], lambda rows: [Permission(row=row) for row in rows]),
}


def _generated_field(entry: UserField) -> StrawberryField:
    """The GraphQL field of ``entry``: null when the caller may not read it (so nullable),
    else the entry's value, with its details loaded first when it needs some."""
    nested = NESTED.get(entry.name)
    graphql_type = nested.type if nested else entry.type
    convert = nested.convert if nested else None

    def shown(user: User) -> bool:
        return not entry.hideable or entry.name in user.readable

    def finish(value: object) -> object:
        return convert(value) if convert else value

    if entry.source.loaded:

        async def resolve_loaded(self: User, info: Info) -> object:
            if not shown(self):
                return None
            details = await _details(info, self.model.id, entry.source)
            return finish(entry.value(self.model, info.context.settings, details))

        resolver: Callable[..., object] = resolve_loaded
    else:

        def resolve(self: User, info: Info) -> object:
            if not shown(self):
                return None
            return finish(entry.value(self.model, info.context.settings, NO_DETAILS))

        resolver = resolve
    field = strawberry.field(
        resolver=resolver,
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
    resolves to null."""

    model: strawberry.Private[models.User]
    readable: strawberry.Private[frozenset[str]]
    client_address: strawberry.Private[str | None] = None

    @classmethod
    def shaped(
        cls,
        caller: Caller,
        user: models.User,
        *,
        items_on_page: int | None = None,
        client_address: str | None = None,
    ) -> User:
        """``user`` with the fields ``caller`` may read; ``items_on_page`` as in
        ``readable_fields`` (None for a user shown on its own); ``client_address`` for ``me``."""
        fields = readable_fields(caller, user, items_on_page=items_on_page)
        return cls(model=user, readable=frozenset(fields), client_address=client_address)

    @strawberry.field(
        description="The address you call from, as REST's me shows it: only on me, else null."
    )
    def ip_address(self) -> str | None:  # docs/api-differences.md#ip-address-on-me-only
        return self.client_address

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


@strawberry.type
class UserEdge:
    node: User
    cursor: str = strawberry.field(description="Opaque; valid only with the same orderBy.")


@strawberry.type(description="A page of users in a keyset-paged list.")
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    user_filter: strawberry.Private[UserFilter]

    @strawberry.field(description="How many users the whole list holds (all pages).")
    async def total_count(self, info: Info) -> int:
        async with info.context.database() as session:
            return await count_users(session, info.context.caller, self.user_filter)
