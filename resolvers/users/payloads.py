"""Payloads of the users mutations: the result, or ``userErrors`` when the input was refused."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from gql_users.accounts.users import TokenInfo
from resolvers.errors import UserError
from resolvers.users.types import User


@strawberry.type(description="A user's token, as staff see it (the REST UserAuthToken).")
class UserAuthToken:
    created: datetime
    user_first_name: str
    user_last_name: str
    user_username: str
    user_is_active: bool
    user_token_lifetime: int | None
    token: str

    @classmethod
    def from_info(cls, info: TokenInfo) -> UserAuthToken:
        user = info.user
        return cls(
            created=info.token.created,
            user_first_name=user.first_name,
            user_last_name=user.last_name,
            user_username=user.username,
            user_is_active=user.is_active,
            user_token_lifetime=user.token_lifetime,
            token=info.token.key,
        )


@strawberry.type
class CreateUserPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateUserPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteUserPayload:
    deleted_uuid: UUID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefreshTokenPayload:
    token: UserAuthToken | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangeEmailPayload:
    user: User | None = strawberry.field(
        default=None, description="The user, with the pending address in requestedEmail."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CancelChangeEmailPayload:
    cancelled: bool = strawberry.field(
        default=False, description="False when there was no pending request (still a success)."
    )
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConfirmEmailPayload:
    confirmed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangePasswordPayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PullRemoteUserPayload:
    synced: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)
