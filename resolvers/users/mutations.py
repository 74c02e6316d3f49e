"""Mutations of the users domain.

Each one finds its target through the same core function as the REST shim
(``users.find_own_or_staff_target`` or ``users.find_staff_target``, which check in Waldur's
order: authentication, the checks made before the lookup, the lookup, the checks after it),
then calls the core write, which re-checks what it must. Input problems come back as
``userErrors`` (see ``resolvers/errors.py``).
"""

from __future__ import annotations

from uuid import UUID

import strawberry

from gql_users.accounts import email_change, password_change, remote, users
from gql_users.accounts.callers import ensure_authenticated
from gql_users.accounts.errors import BadRequest, ValidationFailed
from gql_users.mail import mail_backend, send_quietly
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
        caller = context.caller
        ensure_authenticated(caller)
        users.ensure_staff(caller)
        async with core_write(context) as session:
            try:
                user = await users.create_user(session, context.settings, caller, patch(input))
            except InputProblem as problem:
                return CreateUserPayload(user_errors=user_errors(problem))
        return CreateUserPayload(user=User.shaped(caller, user))

    @strawberry.mutation(
        description="Change the fields given in input (staff, or the user themselves)."
    )
    async def update_user(
        self, info: Info, uuid: UUID, input: UpdateUserInput
    ) -> UpdateUserPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_own_or_staff_target(session, caller, uuid)
            try:
                user = await users.update_user(
                    session, context.settings, caller, target, patch(input)
                )
            except InputProblem as problem:
                return UpdateUserPayload(user_errors=user_errors(problem))
        return UpdateUserPayload(user=User.shaped(caller, user))

    @strawberry.mutation(description="Delete a user for good (staff only).")
    async def delete_user(self, info: Info, uuid: UUID) -> DeleteUserPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_staff_target(session, caller, uuid)
            deleted_uuid = target.uuid
            await users.delete_user(session, context.settings, caller, target)
        return DeleteUserPayload(deleted_uuid=deleted_uuid)

    @strawberry.mutation(description="Replace the user's token with a new key (staff only).")
    async def refresh_token(self, info: Info, uuid: UUID) -> RefreshTokenPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_own_or_staff_target(session, caller, uuid)
            token_info = await users.refresh_user_token(session, caller, target)
        return RefreshTokenPayload(token=UserAuthToken.from_info(token_info))

    @strawberry.mutation(
        description="Ask to change the user's email: a confirmation code is mailed to the new "
        "address (staff, or the user themselves)."
    )
    async def change_email(
        self, info: Info, uuid: UUID, email: str | None = None
    ) -> ChangeEmailPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_own_or_staff_target(session, caller, uuid)
            try:
                message = await email_change.request_email_change(
                    session, context.settings, caller, target, email
                )
            except InputProblem as problem:
                return ChangeEmailPayload(user_errors=user_errors(problem))
        await send_quietly(mail_backend(context.settings), message)
        return ChangeEmailPayload(user=User.shaped(caller, target))

    @strawberry.mutation(description="Drop the user's pending email change, if any.")
    async def cancel_change_email(self, info: Info, uuid: UUID) -> CancelChangeEmailPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_own_or_staff_target(session, caller, uuid)
            cancelled = await email_change.cancel_email_change(session, caller, target)
        return CancelChangeEmailPayload(cancelled=cancelled, user=User.shaped(caller, target))

    @strawberry.mutation(
        description="Apply the email change that the code (from the mail) names. No login needed."
    )
    async def confirm_email(
        self, info: Info, code: str | None = None
    ) -> ConfirmEmailPayload | None:
        context = info.context
        async with core_write(context) as session:
            try:
                await email_change.confirm_email_change(session, context.settings, code)
            except InputProblem as problem:
                return ConfirmEmailPayload(user_errors=user_errors(problem))
        return ConfirmEmailPayload(confirmed=True)

    @strawberry.mutation(description="Set the user's password (staff only).")
    async def change_password(
        self, info: Info, uuid: UUID, new_password: str | None = None
    ) -> ChangePasswordPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_own_or_staff_target(session, caller, uuid)
            try:
                await password_change.change_password(
                    session, context.settings, caller, target, new_password
                )
            except InputProblem as problem:
                return ChangePasswordPayload(user_errors=user_errors(problem))
        return ChangePasswordPayload(user=User.shaped(caller, target))

    @strawberry.mutation(
        description="Synchronise the user from eduTEAMS (staff, or the user themselves)."
    )
    async def pull_remote_user(self, info: Info, uuid: UUID) -> PullRemoteUserPayload | None:
        context = info.context
        caller = context.caller
        async with core_write(context) as session:
            target = await users.find_own_or_staff_target(session, caller, uuid)
            try:
                await remote.pull_remote_user(
                    session, context.settings, context.eduteams, caller, target
                )
            except InputProblem as problem:
                return PullRemoteUserPayload(user_errors=user_errors(problem))
        return PullRemoteUserPayload(synced=True)
