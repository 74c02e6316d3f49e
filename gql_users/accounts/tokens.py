"""Auth tokens: parsing the header, expiry, the sliding refresh, impersonation."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import AuthenticationFailed, Conflict, PermissionDenied
from gql_users.accounts.validation import parse_uuid
from gql_users.db.conflicts import dialect_insert
from gql_users.db.engine import execute_counting_rows
from gql_users.db.models import AuthToken, User, utcnow
from gql_users.events import Event, Kind, publish

NO_ACTIVE_SESSION = "Unable to impersonate user that does not have an active session."
TOKEN_CHANGED = "The token changed during login. Try again."


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


async def tokens_by_user(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, AuthToken]:
    """The tokens of ``user_ids`` (a user has at most one), by user id: one statement."""
    statement = select(AuthToken).where(AuthToken.user_id.in_(user_ids))
    return {token.user_id: token for token in await session.scalars(statement)}


TOKEN_KEY = "token_key"
TOKEN_AND_OWNER = (
    select(AuthToken, User)
    .join(User, AuthToken.user_id == User.id)
    .where(AuthToken.key == bindparam(TOKEN_KEY))
)
"""A token and its owner, by the ``TOKEN_KEY`` parameter: built once, so that every
authentication reuses its compiled form."""


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
    user, token = await token_owner(session, key, now)
    if user.token_lifetime is not None:
        debounce = min(debounce, user.token_lifetime // 2)
    if token.created < now - timedelta(seconds=debounce):
        await session.execute(
            update(AuthToken).where(AuthToken.key == token.key).values(created=now)
        )
        await session.commit()
        token.created = now
    return user, token


async def token_owner(session: AsyncSession, key: str, now: datetime) -> tuple[User, AuthToken]:
    """The active user whose unexpired token ``key`` is, and the token; one statement, no write
    (a live subscription checks its token this way at every event).

    Raises:
        AuthenticationFailed: unknown key, inactive owner or expired token.
    """
    row = (
        await session.execute(
            TOKEN_AND_OWNER.execution_options(populate_existing=True), {TOKEN_KEY: key}
        )
    ).first()
    if row is None:
        raise AuthenticationFailed("Invalid token.")
    token, user = row
    if not user.is_active:
        raise AuthenticationFailed("User inactive or deleted.")
    if is_expired(token.created, user.token_lifetime, now):
        raise AuthenticationFailed("Token has expired.")
    return user, token


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
    """Give the user a new key, replacing their token (if any). The caller commits.

    One upsert on the user's unique token row, so parallel replacements never collide: each
    waits for the one before, and the last to commit is the key that works
    (docs/hardening.md#races).
    """
    insert = dialect_insert(session)
    statement = insert(AuthToken).values(
        key=generate_key(), user_id=user.id, created=now or utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=[AuthToken.user_id],
        set_={"key": statement.excluded.key, "created": statement.excluded.created},
    )
    # execute, not scalar: SQLAlchemy types scalar() of an INSERT ... RETURNING as Any.
    # scalar_one: an upsert always returns its row.
    result = await session.execute(
        statement.returning(AuthToken), execution_options={"populate_existing": True}
    )
    return result.scalar_one()


async def get_token(session: AsyncSession, user: User) -> AuthToken | None:
    return await session.scalar(
        select(AuthToken)
        .where(AuthToken.user_id == user.id)
        .execution_options(populate_existing=True)
    )


LOGIN_TOKEN_ROUNDS = 5
"""Each round of ``login_token`` either returns or fixes what it found (a missing or expired
token); only tokens deleted or replaced again in between need another."""


async def login_token(
    session: AsyncSession, user: User, now: datetime, *, debounce: int
) -> AuthToken:
    """The token a successful login hands out: the user's own while it has not expired (its
    session slid to ``now`` when older than ``debounce`` seconds), else a new one. The caller
    commits.

    Parallel logins agree on one key: a missing token is inserted only if still missing, an
    expired one is replaced only if it is still the same key, and the token is then read
    again, so no login returns a key that another one replaced (docs/hardening.md#races).

    Raises:
        Conflict: the token kept changing underneath (concurrent logouts or refreshes).
    """
    slide_before = now - timedelta(seconds=debounce)
    for _ in range(LOGIN_TOKEN_ROUNDS):
        token = await get_token(session, user)
        if token is None:
            insert = dialect_insert(session)
            await session.execute(
                insert(AuthToken)
                .values(key=generate_key(), user_id=user.id, created=now)
                .on_conflict_do_nothing(index_elements=[AuthToken.user_id])
            )
        elif is_expired(token.created, user.token_lifetime, now):
            await _replace_key(session, token, now)
        elif token.created >= slide_before or await _slide(session, token, now):
            return token
    raise Conflict(TOKEN_CHANGED)


async def _replace_key(session: AsyncSession, token: AuthToken, now: datetime) -> None:
    """A new key for ``token``'s user, unless another request replaced ``token`` first."""
    insert = dialect_insert(session)
    statement = insert(AuthToken).values(key=generate_key(), user_id=token.user_id, created=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AuthToken.user_id],
            set_={"key": statement.excluded.key, "created": statement.excluded.created},
            where=AuthToken.key == token.key,
        )
    )


async def _slide(session: AsyncSession, token: AuthToken, now: datetime) -> bool:
    """Move ``token``'s creation to ``now``; False when the key no longer exists."""
    matched = await execute_counting_rows(
        session, update(AuthToken).where(AuthToken.key == token.key).values(created=now)
    )
    if not matched:
        return False
    token.created = now
    return True


async def logout(session: AsyncSession, caller: Caller) -> None:
    """Delete the caller's token: the key stops working everywhere at once, live subscriptions
    built on it included."""
    if caller.token is not None:
        await session.execute(delete(AuthToken).where(AuthToken.key == caller.token.key))
        if caller.user is not None:
            await publish(session, Event(Kind.TOKENS, caller.user.uuid))
        await session.commit()
