"""GraphQL types of the users domain: ``User``, ``Permission``, ``Role``, ``Customer``,
``Project``, the ``Scope`` union and the ``users`` connection.

Field names are the camelCase of the REST fields. A ``User`` carries the set of fields its
caller may read (``shaping.readable_fields``, the rule the REST shim renders from); a field
outside it resolves to null, which is why exactly those fields are nullable (a test checks
that every field ``shaping`` can hide is nullable here). Leaf fields are plain attributes or
sync resolvers; only fields that need a DataLoader are ``async``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import strawberry

from gql_users.accounts.callers import Caller
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.images import image_url
from gql_users.accounts.listing import count_users
from gql_users.accounts.permissions import PermissionRow
from gql_users.accounts.shaping import readable_fields
from gql_users.accounts.tokens import token_expires_at
from gql_users.accounts.user_details import identity_provider
from gql_users.db import models
from resolvers.context import Info


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
class Customer:
    uuid: UUID
    name: str
    abbreviation: str
    created: datetime

    @classmethod
    def from_model(cls, customer: models.Customer) -> Customer:
        return cls(
            uuid=customer.uuid,
            name=customer.name,
            abbreviation=customer.abbreviation,
            created=customer.created,
        )


@strawberry.type(description="A project of a customer.")
class Project:
    uuid: UUID
    name: str
    created: datetime
    customer_id: strawberry.Private[int]

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
            created=project.created,
            customer_id=project.customer_id,
        )


Scope = Annotated[Customer | Project, strawberry.union("Scope")]


@strawberry.type(description="An active role of a user in a customer or a project.")
class Permission:
    row: strawberry.Private[PermissionRow]

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

    @strawberry.field(description="Who granted the role; null when unknown or not visible to you.")
    async def created_by(self, info: Info) -> User | None:
        creator = await self._creator(info)
        if creator is None:
            return None
        # A nested user is one of many on the page: never with the caller's own token.
        return User.shaped(info.context.caller, creator, items_on_page=0)


@strawberry.type(description="A user account, as the caller may see it.")
class User:
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

    def _shows(self, name: str) -> bool:
        return name in self.readable

    @strawberry.field(description="The REST URL of the user.")
    def url(self, info: Info) -> str:
        return f"{info.context.settings.public_url}api/users/{self.model.uuid.hex}/"

    @strawberry.field
    def uuid(self) -> UUID:
        return self.model.uuid

    @strawberry.field
    def username(self) -> str:
        return self.model.username

    @strawberry.field
    def slug(self) -> str:
        return self.model.slug

    @strawberry.field
    def full_name(self) -> str:
        return self.model.full_name

    @strawberry.field
    def native_name(self) -> str:
        return self.model.native_name

    @strawberry.field
    def job_title(self) -> str:
        return self.model.job_title

    @strawberry.field
    def email(self) -> str:
        return self.model.email

    @strawberry.field
    def phone_number(self) -> str:
        return self.model.phone_number

    @strawberry.field
    def organization(self) -> str:
        return self.model.organization

    @strawberry.field
    def civil_number(self) -> str | None:
        return self.model.civil_number if self._shows("civil_number") else None

    @strawberry.field(description="Staff and support only.")
    def description(self) -> str | None:
        return self.model.description if self._shows("description") else None

    @strawberry.field(description="Staff and support only.")
    def is_staff(self) -> bool | None:
        return self.model.is_staff if self._shows("is_staff") else None

    @strawberry.field(description="Staff and support only.")
    def is_active(self) -> bool | None:
        return self.model.is_active if self._shows("is_active") else None

    @strawberry.field(description="Staff and support only.")
    def is_support(self) -> bool | None:
        return self.model.is_support if self._shows("is_support") else None

    @strawberry.field(description="Your own token, shown only on yourself (and on a page of one).")
    async def token(self, info: Info) -> str | None:
        if not self._shows("token"):
            return None
        token = await info.context.loaders.tokens.load(self.model.id)
        return token.key if token else None

    @strawberry.field(description="Seconds a token lives; yours only. Null means no expiry.")
    def token_lifetime(self) -> int | None:
        return self.model.token_lifetime if self._shows("token_lifetime") else None

    @strawberry.field
    async def token_expires_at(self, info: Info) -> datetime | None:
        if not self._shows("token_expires_at"):
            return None
        token = await info.context.loaders.tokens.load(self.model.id)
        return token_expires_at(token.created if token else None, self.model.token_lifetime)

    @strawberry.field
    def registration_method(self) -> str:
        return self.model.registration_method

    @strawberry.field
    def date_joined(self) -> datetime:
        return self.model.date_joined

    @strawberry.field
    def agreement_date(self) -> datetime | None:
        return self.model.agreement_date if self._shows("agreement_date") else None

    @strawberry.field
    def notifications_enabled(self) -> bool:
        return self.model.notifications_enabled

    @strawberry.field
    def preferred_language(self) -> str:
        return self.model.preferred_language

    @strawberry.field(description="Active roles, oldest first; loaded for a whole page at once.")
    async def permissions(self, info: Info) -> list[Permission]:
        rows = await info.context.loaders.permissions.load(self.model.id)
        return [Permission(row=row) for row in rows]

    @strawberry.field(description="The address of a pending email change, if any.")
    async def requested_email(self, info: Info) -> str | None:
        if not self._shows("requested_email"):
            return None
        return await info.context.loaders.requested_emails.load(self.model.id)

    @strawberry.field
    def affiliations(self) -> list[str]:
        return list(self.model.affiliations or [])

    @strawberry.field
    def first_name(self) -> str:
        return self.model.first_name

    @strawberry.field
    def last_name(self) -> str:
        return self.model.last_name

    @strawberry.field(description="Yourself, staff and support only.")
    def birth_date(self) -> date | None:
        return self.model.birth_date if self._shows("birth_date") else None

    @strawberry.field
    def identity_provider_name(self, info: Info) -> str:
        return identity_provider(self.model, info.context.settings).name

    @strawberry.field
    def identity_provider_label(self, info: Info) -> str:
        return identity_provider(self.model, info.context.settings).label

    @strawberry.field
    def identity_provider_management_url(self, info: Info) -> str:
        return identity_provider(self.model, info.context.settings).management_url

    @strawberry.field
    def identity_provider_fields(self, info: Info) -> list[str]:
        return identity_provider(self.model, info.context.settings).fields

    @strawberry.field(description="The absolute URL of the user's image, if any.")
    def image(self, info: Info) -> str | None:
        return image_url(info.context.settings, self.model.image) if self._shows("image") else None

    @strawberry.field
    def identity_source(self) -> str:
        return self.model.identity_source

    @strawberry.field(description="Whether the user has a token. Staff and support only.")
    async def has_active_session(self, info: Info) -> bool | None:
        if not self._shows("has_active_session"):
            return None
        return await info.context.loaders.tokens.load(self.model.id) is not None

    @strawberry.field(
        description="The address you call from, as REST's me shows it: only on me, else null."
    )
    def ip_address(self) -> str | None:  # docs/api-differences.md#ip-address-on-me-only
        return self.client_address


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


@strawberry.type(description="A page of users in a keyset-paged list.")
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    user_filter: strawberry.Private[UserFilter]

    @strawberry.field(description="How many users the whole list holds (all pages).")
    async def total_count(self, info: Info) -> int:
        async with info.context.database() as session:
            return await count_users(session, info.context.caller, self.user_filter)
