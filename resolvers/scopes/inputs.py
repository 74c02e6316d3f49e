"""GraphQL inputs of customers, projects and roles: the lists' filters and orderings, and
the writes (patches: a field left out is not sent to the core, as the users' inputs)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from gql_users.accounts.filters import MAX_FILTER_LENGTH
from gql_users.accounts.role_grants import ScopeRef
from gql_users.accounts.scopes import ScopeFilter, ScopeKind, ScopeOrderKey
from resolvers.users.inputs import OrderDirection

TEXT_LIMIT = f"A text value holds at most {MAX_FILTER_LENGTH:,} characters."


@strawberry.input(description=f"Filters of the customer list; all given ones apply. {TEXT_LIMIT}")
class CustomerFilterInput:
    name: str | None = strawberry.field(
        default=None, description="Substring of the name, case-insensitive."
    )
    abbreviation: str | None = strawberry.field(default=None, description="Exact abbreviation.")
    description: str | None = strawberry.field(
        default=None, description="Substring of the description, case-insensitive."
    )

    def to_core(self) -> ScopeFilter:
        return ScopeFilter.from_values(
            {"name": self.name, "abbreviation": self.abbreviation, "description": self.description}
        )


@strawberry.input(description=f"Filters of the project list; all given ones apply. {TEXT_LIMIT}")
class ProjectFilterInput:
    name: str | None = strawberry.field(
        default=None, description="Substring of the name, case-insensitive."
    )
    description: str | None = strawberry.field(
        default=None, description="Substring of the description, case-insensitive."
    )
    customer_uuid: UUID | None = strawberry.field(
        default=None, description="Only this customer's projects."
    )

    def to_core(self) -> ScopeFilter:
        return ScopeFilter.from_values(
            {
                "name": self.name,
                "description": self.description,
                "customer_uuid": self.customer_uuid,
            }
        )


@strawberry.enum
class CustomerOrderField(enum.Enum):
    NAME = "name"
    ABBREVIATION = "abbreviation"


@strawberry.enum
class ProjectOrderField(enum.Enum):
    NAME = "name"


@strawberry.input(description="One ordering key; ties are broken by the next key, then by id.")
class CustomerOrder:
    field: CustomerOrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_core(self) -> ScopeOrderKey:
        descending = self.direction is OrderDirection.DESC
        return ScopeOrderKey(ScopeKind.CUSTOMER, self.field.value, descending)


@strawberry.input(description="One ordering key; ties are broken by the next key, then by id.")
class ProjectOrder:
    field: ProjectOrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_core(self) -> ScopeOrderKey:
        descending = self.direction is OrderDirection.DESC
        return ScopeOrderKey(ScopeKind.PROJECT, self.field.value, descending)


@strawberry.input(
    description="A customer's writable fields; a field left out is not changed (on create, "
    "name is required). Checked by the core, as REST's body."
)
class CustomerInput:
    name: str | None = strawberry.UNSET
    abbreviation: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input(description="A project's writable fields, as CustomerInput.")
class ProjectInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input(description="A new project: its customer (required) and its fields.")
class CreateProjectInput(ProjectInput):
    customer: UUID | None = strawberry.field(
        default=strawberry.UNSET, description="The customer's uuid."
    )


@strawberry.enum
class ScopeType(enum.Enum):
    CUSTOMER = "customer"
    PROJECT = "project"


@strawberry.input(
    description="A role of a user in a customer or project: the scope, the role (name or "
    "uuid) and the user; expirationTime is the grant's new end (null: permanent)."
)
class RoleGrantInput:
    scope_type: ScopeType
    scope_uuid: UUID
    role: str | None = strawberry.UNSET
    user: UUID | None = strawberry.UNSET
    expiration_time: datetime | None = strawberry.UNSET

    def to_core(self) -> tuple[ScopeRef, dict[str, Any]]:
        """The scope, and the body fields that were given (the core reads them as REST's)."""
        fields = {"role": self.role, "user": self.user, "expiration_time": self.expiration_time}
        given = {name: value for name, value in fields.items() if value is not strawberry.UNSET}
        return ScopeRef(type=self.scope_type.value, uuid=self.scope_uuid), given
