"""GraphQL inputs of the users domain: the list filter and ordering, and the user writes.

The filter is typed (booleans, DateTime, UUID, lists) and becomes the core's ``UserFilter``
directly. Write inputs are patches: a field left out is not sent to the core at all, an
explicit null is (and the core decides whether null is allowed), so "required" and "may not
be null" are reported by the core as for REST, as ``userErrors``.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import strawberry

from gql_users.accounts.filters import MAX_FILTER_LENGTH, UserFilter
from gql_users.accounts.ordering import OrderKey

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@strawberry.input(
    description="Every filter of the REST user list; all given ones apply (AND). A text value "
    f"holds at most {MAX_FILTER_LENGTH:,} characters (a list: its items joined by commas), "
    "as in REST. A filter on a field you cannot see on every user you can list (description, "
    "isActive, isStaff, isSupport, modified, unless you are staff or support) is refused with "
    "an error."
)
class UserFilterInput:
    username: str | None = strawberry.field(default=None, description="Exact username.")
    username_list: list[str] | None = strawberry.field(
        default=None, description="Any of these usernames; an empty list matches nobody."
    )
    full_name: str | None = strawberry.field(
        default=None, description="Substring of the full name, accents ignored."
    )
    user_keyword: str | None = strawberry.field(
        default=None, description="Substring of the full name, email or username."
    )
    query: str | None = strawberry.field(
        default=None, description="Substring of first/last name, civil number, username, email."
    )
    native_name: str | None = None
    organization: str | None = None
    job_title: str | None = None
    email: str | None = None
    phone_number: str | None = strawberry.field(default=None, description="Exact match.")
    description: str | None = strawberry.field(
        default=None, description="Exact match. Staff and support only."
    )
    civil_number: str | None = strawberry.field(default=None, description="Exact match.")
    registration_method: str | None = strawberry.field(default=None, description="Exact match.")
    is_active: bool | None = strawberry.field(default=None, description="Staff and support only.")
    is_staff: bool | None = strawberry.field(default=None, description="Staff and support only.")
    is_support: bool | None = strawberry.field(default=None, description="Staff and support only.")
    date_joined: datetime | None = strawberry.field(default=None, description="Joined since.")
    modified: datetime | None = strawberry.field(
        default=None, description="Modified since. Staff and support only."
    )
    agreement_date: datetime | None = strawberry.field(
        default=None, description="Agreed to the policy since."
    )
    customer_uuid: UUID | None = strawberry.field(
        default=None, description="Active role in this customer or one of its projects."
    )
    project_uuid: UUID | None = strawberry.field(
        default=None, description="Active role in this project."
    )
    organization_roles: list[str] | None = strawberry.field(
        default=None, description="Holds an active role of one of these names (any scope)."
    )
    project_roles: list[str] | None = strawberry.field(
        default=None, description="Same as organizationRoles; both lists are combined."
    )

    def to_core(self) -> UserFilter:
        """The core's filter, normalised as REST's (blank means no filter, NUL is refused).

        Raises:
            ValidationFailed: a filter value holding NUL.
        """
        return UserFilter.from_values(
            {field.name: getattr(self, field.name) for field in dataclasses.fields(UserFilter)}
        )


@strawberry.enum(
    description="The fields the user list can be ordered by (the REST `o` names). DESCRIPTION, "
    "IS_ACTIVE, IS_STAFF and IS_SUPPORT are for staff and support only: a cursor carries the "
    "values it was ordered by."
)
class UserOrderField(enum.Enum):
    FULL_NAME = "full_name"
    NATIVE_NAME = "native_name"
    EMAIL = "email"
    PHONE_NUMBER = "phone_number"
    DESCRIPTION = "description"
    ORGANIZATION = "organization"
    JOB_TITLE = "job_title"
    USERNAME = "username"
    IS_ACTIVE = "is_active"
    REGISTRATION_METHOD = "registration_method"
    IS_STAFF = "is_staff"
    IS_SUPPORT = "is_support"


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="One ordering key; ties are broken by the next key, then by id.")
class UserOrder:
    field: UserOrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_core(self) -> OrderKey:
        return OrderKey(self.field.value, descending=self.direction is OrderDirection.DESC)


def patch(data: DataclassInstance) -> dict[str, Any]:
    """The fields of an input that the client gave (null included), by their core names."""
    return {
        field.name: getattr(data, field.name)
        for field in dataclasses.fields(data)
        if getattr(data, field.name) is not strawberry.UNSET
    }


@strawberry.input
class UserFieldsInput:
    """The writable fields of a user, shared by create and update (the core decides which
    of them the caller may write)."""

    username: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    native_name: str | None = strawberry.UNSET
    job_title: str | None = strawberry.UNSET
    phone_number: str | None = strawberry.UNSET
    organization: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    is_staff: bool | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET
    is_support: bool | None = strawberry.UNSET
    token_lifetime: int | None = strawberry.field(
        default=strawberry.UNSET, description="Seconds (at least 60); null for no expiry."
    )
    agree_with_policy: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required (true) while the user has not agreed to the policy yet.",
    )
    notifications_enabled: bool | None = strawberry.UNSET
    preferred_language: str | None = strawberry.UNSET
    birth_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="Not after today (UTC); null clears it."
    )


@strawberry.input(description="A new user (staff only). username and email are required.")
class CreateUserInput(UserFieldsInput):
    pass


@strawberry.input(
    description="Changes to a user: only the fields given are written; fields you may not "
    "write are ignored, as in REST."
)
class UpdateUserInput(UserFieldsInput):
    pass
