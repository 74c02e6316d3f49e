"""User slugs: a short, readable, numbered handle derived from the username (docs/fields.md#slugs).

The rule is Waldur's: the first 8 characters of the slugified username, a hyphen, and one more
than the highest numeric suffix already used with that prefix (``john1`` -> ``john1-1``, then
``john1-2``). Slugs are not unique in the database (Waldur's are not either), so two users
created at the same instant may share one; nothing looks users up by slug.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.folding import fold_ascii
from gql_users.db.models import User

SLUG_PREFIX_LENGTH = 8
FALLBACK_PREFIX = "user"
"""Used when nothing of the username survives slugification (for example ``"@.+"``), so that a
slug never starts with the hyphen."""

_NOT_SLUG_CHARACTERS = re.compile(r"[^\w\s-]")
_HYPHENS_AND_SPACES = re.compile(r"[-\s]+")


def slugify(value: str) -> str:
    """Django's ``slugify`` (ASCII mode): fold to ASCII, lower-case, drop everything but word
    characters, spaces and hyphens, turn runs of spaces and hyphens into one hyphen, and strip
    hyphens and underscores from both ends. ``"John.Doe@Example"`` -> ``"johndoeexample"``.
    """
    folded = fold_ascii(value).lower()
    folded = _NOT_SLUG_CHARACTERS.sub("", folded)
    return _HYPHENS_AND_SPACES.sub("-", folded).strip("-_")


def slug_prefix(username: str) -> str:
    """The part of the slug before the numeric suffix."""
    return slugify(username)[:SLUG_PREFIX_LENGTH] or FALLBACK_PREFIX


def next_slug(prefix: str, existing_slugs: list[str]) -> str:
    """``<prefix>-<n>`` where n is one more than the highest numeric suffix among ``existing_slugs``
    that have exactly that prefix; slugs with a non-numeric suffix (``john-x``) do not count."""
    stem = f"{prefix}-"
    highest = 0
    for slug in existing_slugs:
        suffix = slug[len(stem) :] if slug.startswith(stem) else ""
        if suffix.isascii() and suffix.isdigit():
            highest = max(highest, int(suffix))
    return f"{stem}{highest + 1}"


async def generate_slug(session: AsyncSession, username: str) -> str:
    """The slug a new user with ``username`` gets.

    The suffix is computed in Python rather than SQL because "numeric suffix" cannot be written
    portably for SQLite and PostgreSQL; only slugs sharing the prefix are read (``slug`` is
    indexed), and ``autoescape`` keeps ``_`` in a prefix from acting as a LIKE wildcard.

    Args:
        session: the caller's session; nothing is written.
        username: the new user's username.

    Returns:
        The slug, at most 8 + 1 + the digits of the suffix characters long.
    """
    prefix = slug_prefix(username)
    existing = await session.scalars(
        select(User.slug).where(User.slug.startswith(f"{prefix}-", autoescape=True))
    )
    return next_slug(prefix, list(existing))
