"""Password login with a lockout counted in the database (shared by every process)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from gql_users.accounts.errors import AuthenticationFailed, ValidationFailed
from gql_users.accounts.passwords import verify_password
from gql_users.accounts.tokens import create_token, get_token, is_expired
from gql_users.accounts.validation import NULL_CHARACTERS
from gql_users.db.models import AuthToken, LoginFailure, User, utcnow
from gql_users.settings import Settings

INVALID_CREDENTIALS = "Invalid username/password."
MAX_CREDENTIAL_LENGTH = 128


def validate_credentials(username: Any, password: Any) -> tuple[str, str]:
    """Both fields required, strings, non-blank, at most 128 characters, without NUL.

    NUL is refused here, for every API, because PostgreSQL cannot compare text holding it:
    the username lookup would fail with a 500 (DRF's CharField refuses it the same way).

    Raises:
        ValidationFailed: a field dict naming each bad field.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name, value in (("username", username), ("password", password)):
        if value is None:
            errors[name] = ["This field is required."]
        elif not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        elif not value.strip():
            errors[name] = ["This field may not be blank."]
        elif len(value) > MAX_CREDENTIAL_LENGTH:
            errors[name] = [
                f"Ensure this field has no more than {MAX_CREDENTIAL_LENGTH} characters."
            ]
        elif "\x00" in value:
            errors[name] = [NULL_CHARACTERS]
        else:
            values[name] = value
    if errors:
        raise ValidationFailed(errors)
    return values["username"], values["password"]


def lockout_message(settings: Settings) -> str:
    minutes = max(1, round(settings.lockout_window / 60))
    return f"Username is locked out. Try in {minutes} minutes."


async def is_locked_out(
    session: AsyncSession, settings: Settings, username: str, address: str, now: datetime
) -> bool:
    failures = await session.scalar(
        select(LoginFailure.failures).where(
            LoginFailure.username == username,
            LoginFailure.client_address == address,
            LoginFailure.last_failure >= now - timedelta(seconds=settings.lockout_window),
        )
    )
    return failures is not None and failures >= settings.lockout_failures


async def record_failure(
    session: AsyncSession, settings: Settings, username: str, address: str, now: datetime
) -> None:
    """Count one failure atomically: concurrent processes never lose an increment.

    A failure outside the window starts the count again at 1; each failure renews the window.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    window_start = now - timedelta(seconds=settings.lockout_window)
    statement = insert(LoginFailure).values(
        username=username, client_address=address, failures=1, last_failure=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[LoginFailure.username, LoginFailure.client_address],
        set_={
            "failures": case(
                (LoginFailure.last_failure >= window_start, LoginFailure.failures + 1), else_=1
            ),
            "last_failure": now,
        },
    )
    await session.execute(statement)


async def login(
    session: AsyncSession,
    settings: Settings,
    username: Any,
    password: Any,
    client_address: str,
    now: datetime | None = None,
) -> AuthToken:
    """Check a username and password and return the user's (possibly new) token.

    The username match is exact. Inactive and unknown users get the same answer as a wrong
    password. After ``settings.lockout_failures`` failures within the window, further attempts
    for that (username, address) are refused before the password is checked.

    Raises:
        ValidationFailed: missing or malformed fields (400).
        AuthenticationFailed: wrong credentials or locked out (401).
    """
    now = now or utcnow()
    username, password = validate_credentials(username, password)
    if await is_locked_out(session, settings, username, client_address, now):
        raise AuthenticationFailed(lockout_message(settings))

    user = await session.scalar(
        select(User)
        .options(undefer(User.password))
        .where(User.username == username, User.is_active.is_(True))
    )
    if not await verify_password(user.password if user else None, password) or user is None:
        await record_failure(session, settings, username, client_address, now)
        await session.commit()
        raise AuthenticationFailed(INVALID_CREDENTIALS)

    await session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.client_address == client_address
        )
    )
    token = await get_token(session, user)
    if token is None or is_expired(token.created, user.token_lifetime, now):
        token = await create_token(session, user, now)
    elif token.created < now - timedelta(seconds=settings.token_refresh_debounce):
        token.created = now
    await session.execute(update(User).where(User.id == user.id).values(last_login=now))
    await session.commit()
    return token
