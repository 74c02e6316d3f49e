"""Password hashing (argon2id) and the password policy of
docs/api-differences.md#a-password-policy."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so that both paths cost the same time.
_DUMMY_HASH = _hasher.hash("gql-users: no such user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded or _DUMMY_HASH, password) and bool(encoded)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(encoded: str | None, password: str) -> bool:
    """Check ``password`` against ``encoded`` off the event loop; an empty hash never matches."""
    return await asyncio.to_thread(_verify, encoded or "", password)


# --- password policy (docs/api-differences.md#a-password-policy) ------------------------------
# Imported here rather than at the top so the hashing half above stays untouched.
from gql_users.accounts.errors import ValidationFailed  # noqa: E402
from gql_users.db.models import User  # noqa: E402
from gql_users.settings import Settings  # noqa: E402


def password_problems(password: str, user: User, settings: Settings) -> list[str]:
    """Every rule of the policy that ``password`` breaks, in Django's validator order.

    Similarity is equality, ignoring case, with the username, the email address or the
    email's local part: docs/api-differences.md#a-password-policy asks for "not the same as", and
    Django's fuzzy ratio would reject passwords users cannot guess are too close.
    """
    problems: list[str] = []
    if settings.password_reject_similar:
        folded = password.casefold()
        local_part = user.email.rpartition("@")[0] if "@" in user.email else ""
        if user.username and folded == user.username.casefold():
            problems.append("The password is too similar to the username.")
        elif any(value and folded == value.casefold() for value in (user.email, local_part)):
            problems.append("The password is too similar to the email address.")
    minimum = settings.password_min_length
    if len(password) < minimum:
        unit = "character" if minimum == 1 else "characters"
        problems.append(f"This password is too short. It must contain at least {minimum} {unit}.")
    if settings.password_reject_numeric and password.isdigit():
        problems.append("This password is entirely numeric.")
    return problems


def validate_password(password: str, user: User, settings: Settings) -> None:
    """Check ``password`` for ``user`` against the configured policy.

    Raises:
        ValidationFailed: ``{"new_password": [every problem]}``.
    """
    problems = password_problems(password, user, settings)
    if problems:
        raise ValidationFailed({"new_password": problems})
