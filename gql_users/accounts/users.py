"""User writes: create, update, delete, and the staff token actions, and the lookups that find
their targets.

The writes assume their caller has been checked: ``gql_users.accounts.operations`` runs each
whole operation (checks, input, write, commit) in Waldur's order.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from gql_users.accounts.callers import Caller, ensure_authenticated
from gql_users.accounts.errors import NotFound, PermissionDenied, ValidationFailed
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.images import (
    KEEP_IMAGE,
    ImageChange,
    Keep,
    UploadedImage,
    remove_image,
    store_image,
)
from gql_users.accounts.listing import get_visible_user
from gql_users.accounts.shaping import USER_FIELDS
from gql_users.accounts.slugs import generate_slug
from gql_users.accounts.tokens import create_token, get_token
from gql_users.accounts.user_input import validate_user_input, writable_fields
from gql_users.db.conflicts import unique_violation
from gql_users.db.models import AuthToken, User, utcnow
from gql_users.events import Event, Kind, publish
from gql_users.settings import Settings

USERNAME_TAKEN = "user with this username already exists."
MUST_AGREE = "User must agree with the policy."
NO_ACTIVE_TOKEN = "User has no active token."


def ensure_staff(caller: Caller) -> User:
    """The caller's user, who is staff.

    Raises:
        PermissionDenied: the caller is not staff (or anonymous).
    """
    if caller.user is None or not caller.user.is_staff:
        raise PermissionDenied()
    return caller.user


def ensure_self_or_staff(caller: Caller, target: User) -> None:
    """Raises: PermissionDenied unless the caller is staff or the target itself."""
    if not (caller.is_staff or caller.is_self(target)):
        raise PermissionDenied()


async def find_own_or_staff_target(
    session: AsyncSession,
    caller: Caller,
    user_uuid: uuid.UUID | str,
    user_filter: UserFilter | None = None,
) -> User:
    """The target of an action a user may take on themselves and staff on anyone (update,
    email change, token refresh, password, eduTEAMS sync), checked in Waldur's order.

    Raises:
        NotAuthenticated: anonymous caller (401).
        NotFound: the caller cannot see the target (404), so its existence is not revealed.
        PermissionDenied: a visible user who is not the caller, for a non-staff caller (403).
    """
    ensure_authenticated(caller)
    target = await get_visible_user(session, caller, user_uuid, user_filter)
    ensure_self_or_staff(caller, target)
    return target


async def find_staff_target(
    session: AsyncSession,
    caller: Caller,
    user_uuid: uuid.UUID | str,
    user_filter: UserFilter | None = None,
) -> User:
    """The target of a staff-only action that Waldur refuses before any lookup (delete, and
    reading a token): non-staff callers learn nothing about the uuid.

    Raises:
        NotAuthenticated: anonymous caller (401).
        PermissionDenied: the caller is not staff (403), whatever the uuid.
        NotFound: no such user (404).
    """
    ensure_authenticated(caller)
    ensure_staff(caller)
    return await get_visible_user(session, caller, user_uuid, user_filter)


def already_exists(error: IntegrityError) -> ValidationFailed:
    """The field errors for a write that hit a unique column of the users table.

    Raises:
        IntegrityError: ``error`` itself, when it is about anything else.
    """
    violation = unique_violation(error)
    if violation is None or violation.table != User.__tablename__:
        raise error
    return ValidationFailed(
        {
            column: [f"user with this {column.replace('_', ' ')} already exists."]
            for column in violation.columns
        }
    )


async def username_taken(session: AsyncSession, username: str) -> bool:
    """Usernames are unique across all users, active or not
    (docs/api-differences.md#no-server-errors)."""
    return bool(await session.scalar(select(exists().where(User.username == username))))


SERIALIZER_FIELDS = frozenset(USER_FIELDS) | {"agree_with_policy"}
"""What ``field`` may name: the readable fields and the write-only ``agree_with_policy``."""


def restrict(allowed: frozenset[str], accepted_fields: Collection[str] | None) -> frozenset[str]:
    """Apply the ``field`` parameter, which also limits accepted input on writes
    (docs/fields.md#the-field-parameter).

    As in DRF's restricted serializer, unknown names are ignored and a request naming no known
    field keeps every field; naming only read-only fields (``?field=uuid``) accepts no input.
    """
    known = SERIALIZER_FIELDS & set(accepted_fields or ())
    return allowed & known if known else allowed


async def insert_user(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    data: Mapping[str, Any],
    *,
    image: ImageChange = KEEP_IMAGE,
    accepted_fields: Collection[str] | None = None,
) -> User:
    """Validate ``data`` and store a new user with an unusable password, a token, a slug and
    no agreement date; commits. ``caller`` (staff) decides which fields are writable.

    ``token_lifetime`` is honoured when given (docs/api-differences.md#token-lifetime-on-create),
    else the configured default.

    Raises:
        ValidationFailed: bad fields or a username already in use.
    """
    # A user cannot exist without these, whatever ``field`` says.
    allowed = restrict(writable_fields(caller, None, settings), accepted_fields) | {
        "username",
        "email",
    }
    user_input = validate_user_input(data, allowed=allowed, creating=True)
    values = dict(user_input.values)
    if await username_taken(session, values["username"]):
        raise ValidationFailed({"username": [USERNAME_TAKEN]})
    if "token_lifetime" not in values:
        values["token_lifetime"] = settings.token_lifetime
    if "slug" not in values:
        values["slug"] = await generate_slug(session, values["username"])
    user = User(**values, uuid=uuid.uuid4(), password="", registration_method="default")
    if isinstance(image, UploadedImage) and "image" in allowed:
        user.image = store_image(settings, user.uuid, image)
    session.add(user)
    try:
        # The check above answers the common case; a parallel create of the same username
        # is caught here, by the unique constraint (docs/hardening.md#races).
        await session.flush()
        await create_token(session, user)
        await publish(session, Event(Kind.CREATED, user.uuid))
        await session.commit()
    except BaseException as error:
        remove_image(settings, user.image)
        if isinstance(error, IntegrityError):
            await session.rollback()
            raise already_exists(error) from error
        raise
    return user


async def apply_user_changes(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    target: User,
    data: Mapping[str, Any],
    *,
    image: ImageChange = KEEP_IMAGE,
    accepted_fields: Collection[str] | None = None,
) -> User:
    """Update ``target`` with the fields the caller may write; others are ignored silently.

    When the target never agreed to the policy, the update needs ``agree_with_policy: true``
    (which stamps the agreement date), except a pure deactivation ``{is_active: false}`` of an
    active user, or a staff target (docs/writes.md#the-policy-agreement).

    ``caller`` (staff or the target itself) decides which fields are writable.

    Raises:
        ValidationFailed: bad fields, or the policy was not agreed to.
        NotFound: the target was deleted while this update ran.
    """
    allowed = restrict(writable_fields(caller, target, settings), accepted_fields)
    user_input = validate_user_input(data, allowed=allowed, creating=False)
    values = dict(user_input.values)
    changes_image = not isinstance(image, Keep) and "image" in allowed
    if target.agreement_date is None:
        if user_input.agree_with_policy:
            values["agreement_date"] = utcnow()
        else:
            pure_deactivation = (
                values == {"is_active": False} and target.is_active and not changes_image
            )
            if not (pure_deactivation or target.is_staff):
                raise ValidationFailed({"agree_with_policy": [MUST_AGREE]})
    events = change_events(target, values)
    new_image = image if changes_image and isinstance(image, UploadedImage) else None
    stored = store_image(settings, target.uuid, new_image) if new_image else None
    replaced: str | None = None
    try:
        if changes_image:
            replaced = await _lock_image(session, target)
            target.image = stored
        for name, value in values.items():
            setattr(target, name, value)
        target.modified = utcnow()
        await publish(session, *events)
        await session.commit()
    except BaseException as error:
        remove_image(settings, stored)
        if isinstance(error, StaleDataError):  # the user was deleted in the meantime
            await session.rollback()
            raise NotFound() from error
        raise
    if changes_image:
        remove_image(settings, replaced)
    return target


def change_events(target: User, values: Mapping[str, Any]) -> list[Event]:
    """What an update of ``target`` with ``values`` publishes: ``DEACTIVATED`` when it turns
    an active user inactive, else ``UPDATED``; and ``TOKENS`` when the token lifetime changes
    (live subscriptions on the user's token re-arm their expiry)."""
    deactivates = target.is_active and values.get("is_active") is False
    events = [Event(Kind.DEACTIVATED if deactivates else Kind.UPDATED, target.uuid)]
    if "token_lifetime" in values and values["token_lifetime"] != target.token_lifetime:
        events.append(Event(Kind.TOKENS, target.uuid))
    return events


async def _lock_image(session: AsyncSession, target: User) -> str | None:
    """The image the target's row holds now, read after locking the row until the commit.

    The UPDATE takes PostgreSQL's row lock and SQLite's write lock, so of two parallel
    uploads the second reads the first's committed file, and each removes exactly the file
    it replaced (docs/hardening.md#races).
    """
    await session.execute(
        update(User)
        .where(User.id == target.id)
        .values(modified=utcnow())
        .execution_options(synchronize_session=False)
    )
    return await session.scalar(select(User.image).where(User.id == target.id))


async def delete_user_and_image(session: AsyncSession, settings: Settings, target: User) -> None:
    """Hard delete; tokens, roles and email requests go with it (FK cascades), and the image
    file once the delete has committed (the one the row held when deleted)."""
    image = await session.scalar(delete(User).where(User.id == target.id).returning(User.image))
    await publish(session, Event(Kind.DELETED, target.uuid))
    await session.commit()
    remove_image(settings, image)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What ``token`` and ``refresh_token`` return (the UserAuthToken model)."""

    user: User
    token: AuthToken


async def load_user_token(session: AsyncSession, target: User) -> TokenInfo:
    """The user's token, expired or not.

    Raises:
        NotFound: the user has no token (docs/api-differences.md#no-server-errors: 404, not Waldur's
        500).
    """
    token = await get_token(session, target)
    if token is None:
        raise NotFound(NO_ACTIVE_TOKEN)
    return TokenInfo(user=target, token=token)


async def replace_user_token(session: AsyncSession, target: User) -> TokenInfo:
    """Replace the user's token with a new key (creating one if there was none); commits.

    Raises:
        NotFound: the user was deleted meanwhile.
    """
    try:
        token = await create_token(session, target)
        await publish(session, Event(Kind.TOKENS, target.uuid))
        await session.commit()
    except IntegrityError as error:  # the user was deleted in the meantime (foreign key)
        await session.rollback()
        if unique_violation(error) is not None:
            raise
        raise NotFound() from error
    return TokenInfo(user=target, token=token)
