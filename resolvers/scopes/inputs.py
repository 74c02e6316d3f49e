"""GraphQL inputs of the customer and project lists: their filters and orderings."""

from __future__ import annotations

import enum
from uuid import UUID

import strawberry

from gql_users.accounts.filters import MAX_FILTER_LENGTH
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
