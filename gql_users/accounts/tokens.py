"""Auth tokens: parsing the header, expiry, the sliding refresh, impersonation."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import AuthenticationFailed, PermissionDenied
from gql_users.db.models import AuthToken, User, utcnow

NO_ACTIVE_SESSION = "Unable to impersonate user that does not have an active session."


def generate_key() -> str:
    """40 hex characters, as DRF's authtoken."""
    return secrets.token_hex(20)


def parse_authorization(header: str | None) -> str | None:
    """The key of an ``Authorization: Token <key>`` header, or None when it uses another scheme.

    Raises:
        AuthenticationFailed: the header names the Token scheme but carries no usable key.
    """
    if not header:
        return None
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        return None
    if len(parts) == 1:
        raise AuthenticationFailed("Invalid token. No credentials provided.")
    if len(parts) > 2:
        raise AuthenticationFailed("Invalid token. Token string should not contain spaces.")
    if not parts[1].isascii() or not parts[1].isprintable():
        raise AuthenticationFailed(
            "Invalid token. Token string should not contain invalid characters."
        )
    return parts[1]


def token_expires_at(created: datetime | None, lifetime: int | None) -> datetime | None:
    if created is None or lifetime is None:
        return None
    return created + timedelta(seconds=lifetime)


def is_expired(created: datetime, lifetime: int | None, now: datetime) -> bool:
    expires = token_expires_at(created, lifetime)
    return expires is not None and expires < now


async def authenticate_token(
    session: AsyncSession, key: str, *, debounce: int, now: datetime | None = None
) -> tuple[User, AuthToken]:
    """Resolve a token key to its user, checking activity and expiry, then slide the session.

    The expiry check happens before the refresh, so an expired token stays expired. The
    refresh is written only when ``created`` is older than ``debounce`` seconds, or than half
    the token's lifetime if that is shorter: a user active more often than that never sees
    the token expire (docs/hardening.md#sliding-refresh).

    Raises:
        AuthenticationFailed: unknown key, inactive owner or expired token.
    """
    now = now or utcnow()
    row = (
        await session.execute(
            select(AuthToken, User)
            .join(User, AuthToken.user_id == User.id)
            .where(AuthToken.key == key)
        )
    ).first()
    if row is None:
        raise AuthenticationFailed("Invalid token.")
    token, user = row
    if not user.is_active:
        raise AuthenticationFailed("User inactive or deleted.")
    if is_expired(token.created, user.token_lifetime, now):
        raise AuthenticationFailed("Token has expired.")
    if user.token_lifetime is not None:
        debounce = min(debounce, user.token_lifetime // 2)
    if token.created < now - timedelta(seconds=debounce):
        await session.execute(
            update(AuthToken).where(AuthToken.key == token.key).values(created=now)
        )
        await session.commit()
        token.created = now
    return user, token


def parse_uuid(value: str | None) -> uuid.UUID | None:
    """A UUID written as 32 hex digits or hyphenated; None for anything else."""
    if not value:
        return None
    try:
        return uuid.UUID(value.strip())
    except (ValueError, AttributeError):
        return None


async def impersonate(session: AsyncSession, caller: Caller, header: str | None) -> Caller:
    """Apply ``X-Impersonated-User-Uuid``: honoured for staff only; unknown uuids are ignored.

    Raises:
        PermissionDenied: the impersonated user has no token (no active session).
    """
    target_uuid = parse_uuid(header)
    if target_uuid is None or not caller.is_staff:
        return caller
    row = (
        await session.execute(
            select(User, AuthToken)
            .outerjoin(AuthToken, AuthToken.user_id == User.id)
            .where(User.uuid == target_uuid)
        )
    ).first()
    if row is None:
        return caller
    target, token = row
    if token is None:
        raise PermissionDenied(NO_ACTIVE_SESSION)
    return Caller(user=target, token=token, impersonator=caller.user)


async def create_token(session: AsyncSession, user: User, now: datetime | None = None) -> AuthToken:
    """Replace the user's token (if any) with a new key. The caller commits."""
    await session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    token = AuthToken(key=generate_key(), user_id=user.id, created=now or utcnow())
    session.add(token)
    await session.flush()
    return token


async def get_token(session: AsyncSession, user: User) -> AuthToken | None:
    return await session.scalar(select(AuthToken).where(AuthToken.user_id == user.id))


async def logout(session: AsyncSession, caller: Caller) -> None:
    """Delete the caller's token: the key stops working everywhere at once."""
    if caller.token is not None:
        await session.execute(delete(AuthToken).where(AuthToken.key == caller.token.key))
        await session.commit()
