"""Which fields of a user a caller may read, from the ``readers`` of each ``user_fields`` entry.

The REST shim renders exactly these keys; GraphQL resolves the others to null. Both ask here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from gql_users.accounts.callers import Caller
from gql_users.accounts.user_fields import USER_FIELD_TABLE, Readers, names_read_by
from gql_users.db.models import User

USER_FIELDS: tuple[str, ...] = tuple(field.name for field in USER_FIELD_TABLE)
"""The names of the user fields, in the serializer's output order (``user_fields``)."""

PRIVILEGED_FIELDS = names_read_by(Readers.PRIVILEGED)
"""Shown to staff and global support only, even a normal user's own profile lacks them."""

PERSONAL_FIELDS = names_read_by(Readers.PERSONAL)
"""Shown to the user themselves, staff and global support; hidden from everyone else
(docs/api-differences.md#birth-dates)."""

OWN_TOKEN_FIELDS = names_read_by(Readers.OWN_TOKEN)
"""Shown only when the user is the caller, on its own or on a page of one."""


def readable_fields(
    caller: Caller, target: User, *, items_on_page: int | None = None
) -> tuple[str, ...]:
    """The fields of ``target`` that ``caller`` may read, in serializer order.

    Args:
        caller: who asks; normal users and identity managers lose ``PRIVILEGED_FIELDS``, and
            ``PERSONAL_FIELDS`` of anyone but themselves.
        target: the user being shown.
        items_on_page: None when ``target`` is shown on its own (retrieve, me, create, update);
            the number of users on the page when it is one item of a list. A list shows the
            caller's own token only on a page of exactly one item
            (docs/fields.md#tokens-in-user-bodies), so a list never exposes it next to other users,
            for staff too.

    Returns:
        A subset of ``USER_FIELDS``.
    """
    return readable_field_names(caller, itself=caller.is_self(target), items_on_page=items_on_page)


def readable_field_names(
    caller: Caller, *, itself: bool, items_on_page: int | None = None
) -> tuple[str, ...]:
    """``readable_fields`` of a user who is the caller (``itself``) or not, for a renderer
    that has the user's row rather than a ``User``."""
    own_token_visible = itself and items_on_page in (None, 1)
    return _readable(caller.is_privileged, itself, own_token_visible)


@cache
def _readable(privileged: bool, itself: bool, own_token_visible: bool) -> tuple[str, ...]:
    """One of the eight shapes a user's body can have, computed once."""
    hidden = _hidden_fields(privileged, itself=itself, own_token_visible=own_token_visible)
    return tuple(name for name in USER_FIELDS if name not in hidden)


def _hidden_fields(privileged: bool, *, itself: bool, own_token_visible: bool) -> frozenset[str]:
    if privileged:
        hidden: frozenset[str] = frozenset()
    else:
        hidden = PRIVILEGED_FIELDS if itself else PRIVILEGED_FIELDS | PERSONAL_FIELDS
    return hidden if own_token_visible else hidden | OWN_TOKEN_FIELDS


def fields_readable_on_every_listed_user(caller: Caller) -> frozenset[str]:
    """The fields ``caller`` may read on *every* user a list can show them.

    ``readable_fields`` is per (caller, user), and a list mixes users (the caller among
    them); a field outside this set is hidden on at least one of them. The token fields are
    never in it: they show only on the caller's own profile, never on other users; nor, for
    a caller who is neither staff nor support, are the personal fields.
    """
    hidden = _hidden_fields(caller.is_privileged, itself=False, own_token_visible=False)
    return frozenset(USER_FIELDS) - hidden


def readable_fields_for_page(caller: Caller, page: Sequence[User]) -> list[tuple[str, ...]]:
    """``readable_fields`` of each user of a list page, in page order."""
    return [readable_fields(caller, user, items_on_page=len(page)) for user in page]


def select_fields(available: Sequence[str], requested: Sequence[str]) -> tuple[str, ...]:
    """Apply the ``field`` parameter (docs/fields.md#the-field-parameter) to the fields a caller may
    read.

    Unknown or unavailable names are ignored; the result keeps the order of ``available``
    (the serializer's), not the request's; when no requested name is available, or none was
    requested, every available field is kept.
    """
    wanted = set(requested)
    chosen = tuple(name for name in available if name in wanted)
    return chosen or tuple(available)
