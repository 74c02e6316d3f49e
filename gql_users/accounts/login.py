"""Password login with a lockout counted in the database (shared by every process)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from gql_users import metrics
from gql_users.accounts.errors import AuthenticationFailed, ValidationFailed
from gql_users.accounts.passwords import verify_password
from gql_users.accounts.tokens import login_token
from gql_users.accounts.validation import NULL_CHARACTERS
from gql_users.db.conflicts import dialect_insert
from gql_users.db.models import AuthToken, LoginFailure, User, utcnow
from gql_users.settings import Settings

INVALID_CREDENTIALS = "Invalid username/password."
MAX_CREDENTIAL_LENGTH = 128
UNKNOWN_CLIENT = "unknown"
"""The lockout key of callers whose address is unknown (they share one count per username)."""


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


async def count_attempt(
    session: AsyncSession, settings: Settings, username: str, address: str, now: datetime
) -> int:
    """Count one login attempt atomically and return the attempts counted in the window.

    The attempt is recorded (and committed) before the password is checked, by one upsert
    that returns the new count, so parallel attempts each see a different count and at most
    ``settings.lockout_failures`` of them get their password checked
    (docs/hardening.md#login-lockout-under-parallel-attempts). An attempt outside the window
    starts the count again at 1. Attempts below the threshold renew the window; refused ones
    do not, so the lockout ends one window after the last password that was checked.
    """
    insert = dialect_insert(session)
    in_window = LoginFailure.last_failure >= now - timedelta(seconds=settings.lockout_window)
    statement = insert(LoginFailure).values(
        username=username, client_address=address, failures=1, last_failure=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[LoginFailure.username, LoginFailure.client_address],
        set_={
            "failures": case((in_window, LoginFailure.failures + 1), else_=1),
            "last_failure": case(
                (
                    in_window & (LoginFailure.failures >= settings.lockout_failures),
                    LoginFailure.last_failure,
                ),
                else_=now,
            ),
        },
    )
    count: int | None = await session.scalar(statement.returning(LoginFailure.failures))
    await session.commit()
    assert count is not None  # an upsert always returns its row
    return count


async def login(
    session: AsyncSession,
    settings: Settings,
    username: Any,
    password: Any,
    client_address: str | None,
    now: datetime | None = None,
) -> AuthToken:
    """Check a username and password and return the user's (possibly new) token.

    The username match is exact. Inactive and unknown users get the same answer as a wrong
    password. Every attempt is counted before the password is checked; once
    ``settings.lockout_failures`` attempts without a success fall within the window, further
    attempts for that (username, address) are refused without checking the password, a correct
    one included. A success clears the count. ``client_address`` None counts as
    ``UNKNOWN_CLIENT``.

    Raises:
        ValidationFailed: missing or malformed fields (400).
        AuthenticationFailed: wrong credentials or locked out (401).
    """
    now = now or utcnow()
    client_address = client_address or UNKNOWN_CLIENT
    username, password = validate_credentials(username, password)
    if await count_attempt(session, settings, username, client_address, now) > (
        settings.lockout_failures
    ):
        metrics.login_failed(metrics.LOCKED_OUT)
        raise AuthenticationFailed(lockout_message(settings))

    user = await session.scalar(
        select(User)
        .options(undefer(User.password))
        .where(User.username == username, User.is_active.is_(True))
    )
    if not await verify_password(user.password if user else None, password) or user is None:
        metrics.login_failed(metrics.INVALID_CREDENTIALS)
        raise AuthenticationFailed(INVALID_CREDENTIALS)  # the attempt is already counted

    try:
        await session.execute(
            delete(LoginFailure).where(
                LoginFailure.username == username, LoginFailure.client_address == client_address
            )
        )
        token = await login_token(session, user, now, debounce=settings.token_refresh_debounce)
        await session.execute(update(User).where(User.id == user.id).values(last_login=now))
        await session.commit()
    except IntegrityError as error:  # the user was deleted after the password check
        await session.rollback()
        raise AuthenticationFailed(INVALID_CREDENTIALS) from error
    return token
