"""The Relay paging arguments (``first``, ``after``, ``last``, ``before``, ``offset``) as the
core's keyset request, for every keyset-paged connection: users, customers, projects and the
lists nested in them."""

from __future__ import annotations

from collections.abc import Sequence

from gql_users.accounts.errors import BadRequest
from gql_users.accounts.keyset import KeysetRequest
from gql_users.accounts.ordering import SortColumn
from resolvers.users.cursors import MAX_CURSOR_LENGTH, decode_cursor

DEFAULT_PAGE_SIZE = 20
"""Page size when neither ``first`` nor ``last`` is given."""

FIRST_AND_LAST = "Pass either first or last, not both."
CURSOR_TOO_LONG = "{name}: a cursor has at most {limit:,} characters."
NEGATIVE = "{name} must not be negative."


def keyset_request(
    columns: Sequence[SortColumn],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    offset: int | None,
    max_page_size: int,
    key: bytes,
) -> KeysetRequest:
    """Translate the Relay arguments into the core's keyset request.

    ``first``/``last`` above ``max_page_size`` are cut to it; with neither, the page holds
    ``DEFAULT_PAGE_SIZE`` users (never more than the maximum). ``offset`` skips that many
    users in the direction of travel (from ``after`` forwards, or from ``before`` backwards).

    Raises:
        BadRequest: both ``first`` and ``last``, a negative number, a cursor longer than
            ``MAX_CURSOR_LENGTH``, or an unusable cursor.
    """
    if first is not None and last is not None:
        raise BadRequest(FIRST_AND_LAST)
    for name, value in (("first", first), ("last", last), ("offset", offset)):
        if value is not None and value < 0:
            raise BadRequest(NEGATIVE.format(name=name))
    for name, cursor in (("after", after), ("before", before)):
        if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
            raise BadRequest(CURSOR_TOO_LONG.format(name=name, limit=MAX_CURSOR_LENGTH))
    wanted = first if first is not None else last
    limit = min(DEFAULT_PAGE_SIZE if wanted is None else wanted, max_page_size)
    return KeysetRequest(
        limit=limit,
        after=decode_cursor(after, columns, key) if after is not None else None,
        before=decode_cursor(before, columns, key) if before is not None else None,
        backward=last is not None,
        offset=offset or 0,
    )
