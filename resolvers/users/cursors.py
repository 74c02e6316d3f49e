"""Opaque cursors of the ``users`` connection: base64 of JSON of a keyset position and the
signature of the ordering it was taken under.

Only encoding lives here; what a position means and how rows after it are found is the
core's (``gql_users.accounts.keyset``).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from typing import Any

from gql_users.accounts.errors import BadRequest, ValidationFailed
from gql_users.accounts.keyset import Position, check_position, ordering_signature
from gql_users.accounts.ordering import SortColumn

INVALID_CURSOR = "Invalid cursor: pass a cursor exactly as a previous page returned it."
OTHER_ORDERING = (
    "This cursor belongs to another ordering ({cursor}) than the one requested ({requested}): "
    "use cursors only with the orderBy they were returned for, or start again without one."
)


def _plain(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else value


def encode_cursor(position: Position, columns: Sequence[SortColumn]) -> str:
    payload = {"o": ordering_signature(columns), "p": [_plain(value) for value in position]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[SortColumn]) -> Position:
    """The position a cursor names, checked against the requested ordering.

    Raises:
        BadRequest: the cursor is not one of ours, or was made for another ordering.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        signature, values = payload["o"], payload["p"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise BadRequest(INVALID_CURSOR) from None
    if not isinstance(signature, str) or not isinstance(values, list):
        raise BadRequest(INVALID_CURSOR)
    requested = ordering_signature(columns)
    if signature != requested:
        raise BadRequest(OTHER_ORDERING.format(cursor=signature, requested=requested))
    try:
        return check_position(values, columns)
    except ValidationFailed:
        raise BadRequest(INVALID_CURSOR) from None
