"""Password hashing (argon2id) and the password policy of behaviour.md Part A §7."""

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
