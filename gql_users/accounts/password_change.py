"""Setting a user's password on their behalf: staff only (docs/writes.md#password-change,
docs/api-differences.md#a-password-policy)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.errors import NotFound, ValidationFailed
from gql_users.accounts.login import MAX_CREDENTIAL_LENGTH
from gql_users.accounts.passwords import hash_password, validate_password
from gql_users.accounts.validation import (
    BLANK,
    NOT_A_STRING,
    NULL_CHARACTERS,
    REQUIRED,
    max_length_message,
)
from gql_users.db.engine import execute_counting_rows
from gql_users.db.models import User
from gql_users.settings import Settings

logger = logging.getLogger("gql_users.accounts")


def clean_new_password(value: Any) -> str:
    """The ``new_password`` field: a non-blank string that login will accept.

    Unlike DRF's ``CharField`` the value is not trimmed: login does not trim either, so a
    password set with surrounding spaces must be typed with them. Longer than login's limit
    would be a password nobody can log in with, so it is refused here.

    Raises:
        ValidationFailed: ``{"new_password": [message]}``.
    """
    if value is None:
        message = REQUIRED
    elif not isinstance(value, str):
        message = NOT_A_STRING
    elif not value.strip():
        message = BLANK
    elif len(value) > MAX_CREDENTIAL_LENGTH:
        message = max_length_message(MAX_CREDENTIAL_LENGTH)
    elif "\x00" in value:  # login refuses NUL, so this password could never be typed
        message = NULL_CHARACTERS
    else:
        return value
    raise ValidationFailed({"new_password": [message]})


async def set_password(
    session: AsyncSession, settings: Settings, target: User, new_password: Any, *, staff_user: User
) -> None:
    """Hash ``new_password`` with argon2id (in a worker thread) and store it for ``target``.

    Existing tokens stay valid, as in Waldur: a password change is not a logout.

    Args:
        new_password: the raw ``new_password`` value of the request body.
        staff_user: who sets it (logged); ``operations.change_password`` checked they are staff.

    Raises:
        ValidationFailed: ``{"new_password": [...]}``: missing, blank, or against the policy.
        NotFound: the target was deleted meanwhile.
    """
    password = clean_new_password(new_password)
    validate_password(password, target, settings)
    encoded = await asyncio.to_thread(hash_password, password)
    matched = await execute_counting_rows(
        session,
        update(User)
        .where(User.id == target.id)
        .values(password=encoded)
        .execution_options(synchronize_session=False),
    )
    if target in session:
        # Forget any hash loaded before, rather than copy the new one onto the object: the
        # next query that asks for it (login) reads the stored value.
        session.expire(target, ["password"])
    await session.commit()  # also when nothing matched: a rollback would expire the session
    if not matched:
        raise NotFound()
    logger.info("password of user %s set by staff user %s", target.username, staff_user.username)
