"""Every write of the users API as one call, the same for REST and GraphQL.

An operation takes the session, the settings, the caller, the target's uuid and the input, and
does the whole job in Waldur's order: authentication (401), the checks Waldur makes before the
lookup (403), the lookup (404), the checks after it (403), then the input (400), the write and
its commit, and last the mail, which is sent after the commit and never fails the operation.
Adapters only parse their request, call one operation and render what it returns.

Input that follows checks arrives as an ``InputReader``, awaited once the checks have passed: a
caller who may not write learns that before anything about their body, a malformed body
included. GraphQL, whose input is parsed before the resolver runs, passes ``already_read(...)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts import email_change, password_change, remote
from gql_users.accounts.callers import Caller, ensure_authenticated
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.images import KEEP_IMAGE, ImageChange
from gql_users.accounts.users import (
    TokenInfo,
    apply_user_changes,
    delete_user_and_image,
    ensure_staff,
    find_own_or_staff_target,
    find_staff_target,
    insert_user,
    load_user_token,
    replace_user_token,
)
from gql_users.db.models import User
from gql_users.mail import mail_backend, send_quietly
from gql_users.settings import Settings

T = TypeVar("T")

InputReader = Callable[[], Awaitable[T]]
"""Reads (parses) an operation's input when the operation is ready for it."""


def already_read(value: T) -> InputReader[T]:
    """An ``InputReader`` for input that was parsed before the operation began."""

    async def read() -> T:
        return value

    return read


@dataclass(frozen=True, slots=True)
class UserChanges:
    """The input of create and update: the field values and what to do with the image."""

    data: Mapping[str, Any]
    image: ImageChange = KEEP_IMAGE


@dataclass(frozen=True, slots=True)
class EmailChangeCancelled:
    """The target, and whether a pending request existed (both outcomes are successes)."""

    user: User
    cancelled: bool


UserUuid = uuid.UUID | str
"""A target's uuid as the request gave it; malformed text is "not found"."""


async def create_user(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    read_changes: InputReader[UserChanges],
    *,
    accepted_fields: Collection[str] | None = None,
) -> User:
    """Create a user (staff only), with a token, a slug and an unusable password.

    Raises:
        NotAuthenticated: anonymous caller.
        PermissionDenied: the caller is not staff.
        ValidationFailed: bad fields or a username already in use.
    """
    ensure_authenticated(caller)
    ensure_staff(caller)
    changes = await read_changes()
    return await insert_user(
        session,
        settings,
        caller,
        changes.data,
        image=changes.image,
        accepted_fields=accepted_fields,
    )


async def update_user(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    user_uuid: UserUuid,
    read_changes: InputReader[UserChanges],
    *,
    accepted_fields: Collection[str] | None = None,
    user_filter: UserFilter | None = None,
) -> User:
    """Change the fields the caller may write (staff, or the user themselves).

    Raises:
        NotAuthenticated, NotFound, PermissionDenied: see ``find_own_or_staff_target``.
        ValidationFailed: bad fields, or the policy was not agreed to.
    """
    target = await find_own_or_staff_target(session, caller, user_uuid, user_filter)
    changes = await read_changes()
    return await apply_user_changes(
        session,
        settings,
        caller,
        target,
        changes.data,
        image=changes.image,
        accepted_fields=accepted_fields,
    )


async def delete_user(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    user_uuid: UserUuid,
    *,
    user_filter: UserFilter | None = None,
) -> None:
    """Delete a user for good (staff only).

    Raises:
        NotAuthenticated, PermissionDenied, NotFound: see ``find_staff_target``.
    """
    target = await find_staff_target(session, caller, user_uuid, user_filter)
    await delete_user_and_image(session, settings, target)


async def read_token(session: AsyncSession, caller: Caller, user_uuid: UserUuid) -> TokenInfo:
    """A user's token, expired or not (staff only).

    Raises:
        NotAuthenticated, PermissionDenied, NotFound: see ``find_staff_target``.
        NotFound: the user has no token.
    """
    target = await find_staff_target(session, caller, user_uuid)
    return await load_user_token(session, target)


async def refresh_token(session: AsyncSession, caller: Caller, user_uuid: UserUuid) -> TokenInfo:
    """Replace a user's token with a new key (staff only; others learn 404 or 403 first).

    Raises:
        NotAuthenticated, NotFound, PermissionDenied: see ``find_own_or_staff_target``.
        PermissionDenied: the caller is the user but not staff.
    """
    target = await find_own_or_staff_target(session, caller, user_uuid)
    ensure_staff(caller)
    return await replace_user_token(session, target)


async def change_email(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    user_uuid: UserUuid,
    read_email: InputReader[Any],
) -> User:
    """Store a pending email change and mail its confirmation code to the new address.

    Returns:
        The target user (its email unchanged until the code is confirmed).

    Raises:
        NotAuthenticated, NotFound, PermissionDenied: see ``find_own_or_staff_target``.
        BadRequest: the target's identity provider owns the email field.
        ValidationFailed: ``{"email": [...]}``.
    """
    target = await find_own_or_staff_target(session, caller, user_uuid)
    email = await read_email()
    message = await email_change.request_email_change(session, settings, target, email)
    await send_quietly(mail_backend(settings), message)
    return target


async def cancel_change_email(
    session: AsyncSession, caller: Caller, user_uuid: UserUuid
) -> EmailChangeCancelled:
    """Drop the user's pending email change, if any.

    Raises:
        NotAuthenticated, NotFound, PermissionDenied: see ``find_own_or_staff_target``.
    """
    target = await find_own_or_staff_target(session, caller, user_uuid)
    cancelled = await email_change.cancel_email_change(session, target)
    return EmailChangeCancelled(user=target, cancelled=cancelled)


async def confirm_email(session: AsyncSession, settings: Settings, code: Any) -> None:
    """Apply the email change that ``code`` names; no login needed, the code is the credential.

    Raises:
        ValidationFailed: a missing or malformed code, or an expired request.
        NotFound: no request has that code.
    """
    await email_change.confirm_email_change(session, settings, code)


async def change_password(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    user_uuid: UserUuid,
    read_password: InputReader[Any],
) -> User:
    """Set a user's password (staff only; others learn 404 or 403 before their body is read).

    Returns:
        The target user.

    Raises:
        NotAuthenticated, NotFound, PermissionDenied: see ``find_own_or_staff_target``.
        PermissionDenied: the caller is the user but not staff.
        ValidationFailed: ``{"new_password": [...]}``.
    """
    target = await find_own_or_staff_target(session, caller, user_uuid)
    staff_user = ensure_staff(caller)
    new_password = await read_password()
    await password_change.set_password(
        session, settings, target, new_password, staff_user=staff_user
    )
    return target


async def pull_remote_user(
    session: AsyncSession,
    settings: Settings,
    client: remote.UserinfoSource,
    caller: Caller,
    user_uuid: UserUuid,
    *,
    now: datetime | None = None,
) -> None:
    """Synchronise a user from eduTEAMS (staff, or the user themselves); ``now`` is the sync
    time (tests pin it).

    Raises:
        NotAuthenticated, NotFound, PermissionDenied: see ``find_own_or_staff_target``.
        ValidationFailed: the target is not an eduTEAMS user, or the sync is disabled.
        BadRequest: eduTEAMS could not be asked or answered unusably.
    """
    target = await find_own_or_staff_target(session, caller, user_uuid)
    await remote.sync_from_eduteams(session, settings, client, target, now=now)
