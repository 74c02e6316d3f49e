"""Mutations of the users domain.

Each one is a single call of the core's ``gql_users.accounts.operations``, the same as the REST
shim's, which checks in Waldur's order (authentication, the checks made before the lookup, the
lookup, the checks after it), writes, commits and mails. Input problems come back as
``userErrors`` (see ``resolvers/errors.py``).
"""

from __future__ import annotations

from uuid import UUID

import strawberry

from gql_users.accounts import operations
from gql_users.accounts.errors import BadRequest, ValidationFailed
from gql_users.accounts.operations import UserChanges, already_read
from resolvers.context import Info
from resolvers.errors import user_errors
from resolvers.users.inputs import CreateUserInput, UpdateUserInput, patch
from resolvers.users.payloads import (
    CancelChangeEmailPayload,
    ChangeEmailPayload,
    ChangePasswordPayload,
    ConfirmEmailPayload,
    CreateUserPayload,
    DeleteUserPayload,
    PullRemoteUserPayload,
    RefreshTokenPayload,
    UpdateUserPayload,
    UserAuthToken,
)
from resolvers.users.types import User
from resolvers.writes import core_write

InputProblem = (ValidationFailed, BadRequest)


@strawberry.type
class UserMutations:
    @strawberry.mutation(description="Create a user (staff only).")
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserPayload | None:
        context = info.context
        changes = already_read(UserChanges(patch(input)))
        async with core_write(context) as session:
            try:
                user = await operations.create_user(
                    session, context.settings, context.caller, changes
                )
            except InputProblem as problem:
                return CreateUserPayload(user_errors=user_errors(problem))
        return CreateUserPayload(user=User.shaped(context, user))

    @strawberry.mutation(
        description="Change the fields given in input (staff, or the user themselves)."
    )
    async def update_user(
        self, info: Info, uuid: UUID, input: UpdateUserInput
    ) -> UpdateUserPayload | None:
        context = info.context
        changes = already_read(UserChanges(patch(input)))
        async with core_write(context) as session:
            try:
                user = await operations.update_user(
                    session, context.settings, context.caller, uuid, changes
                )
            except InputProblem as problem:
                return UpdateUserPayload(user_errors=user_errors(problem))
        return UpdateUserPayload(user=User.shaped(context, user))

    @strawberry.mutation(description="Delete a user for good (staff only).")
    async def delete_user(self, info: Info, uuid: UUID) -> DeleteUserPayload | None:
        context = info.context
        async with core_write(context) as session:
            await operations.delete_user(session, context.settings, context.caller, uuid)
        return DeleteUserPayload(deleted_uuid=uuid)

    @strawberry.mutation(description="Replace the user's token with a new key (staff only).")
    async def refresh_token(self, info: Info, uuid: UUID) -> RefreshTokenPayload | None:
        context = info.context
        async with core_write(context) as session:
            token_info = await operations.refresh_token(session, context.caller, uuid)
        return RefreshTokenPayload(token=UserAuthToken.from_info(token_info))

    @strawberry.mutation(
        description="Ask to change the user's email: a confirmation code is mailed to the new "
        "address (staff, or the user themselves)."
    )
    async def change_email(
        self, info: Info, uuid: UUID, email: str | None = None
    ) -> ChangeEmailPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                target = await operations.change_email(
                    session, context.settings, context.caller, uuid, already_read(email)
                )
            except InputProblem as problem:
                return ChangeEmailPayload(user_errors=user_errors(problem))
        return ChangeEmailPayload(user=User.shaped(context, target))

    @strawberry.mutation(description="Drop the user's pending email change, if any.")
    async def cancel_change_email(self, info: Info, uuid: UUID) -> CancelChangeEmailPayload | None:
        context = info.context
        async with core_write(context) as session:
            outcome = await operations.cancel_change_email(session, context.caller, uuid)
        return CancelChangeEmailPayload(
            cancelled=outcome.cancelled, user=User.shaped(context, outcome.user)
        )

    @strawberry.mutation(
        description="Apply the email change that the code (from the mail) names. No login needed."
    )
    async def confirm_email(
        self, info: Info, code: str | None = None
    ) -> ConfirmEmailPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                await operations.confirm_email(session, context.settings, code)
            except InputProblem as problem:
                return ConfirmEmailPayload(user_errors=user_errors(problem))
        return ConfirmEmailPayload(confirmed=True)

    @strawberry.mutation(description="Set the user's password (staff only).")
    async def change_password(
        self, info: Info, uuid: UUID, new_password: str | None = None
    ) -> ChangePasswordPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                target = await operations.change_password(
                    session, context.settings, context.caller, uuid, already_read(new_password)
                )
            except InputProblem as problem:
                return ChangePasswordPayload(user_errors=user_errors(problem))
        return ChangePasswordPayload(user=User.shaped(context, target))

    @strawberry.mutation(
        description="Synchronise the user from eduTEAMS (staff, or the user themselves)."
    )
    async def pull_remote_user(self, info: Info, uuid: UUID) -> PullRemoteUserPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                await operations.pull_remote_user(
                    session, context.settings, context.eduteams, context.caller, uuid
                )
            except InputProblem as problem:
                return PullRemoteUserPayload(user_errors=user_errors(problem))
        return PullRemoteUserPayload(synced=True)
