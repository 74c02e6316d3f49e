"""Opaque cursors of the ``users`` connection: a keyset position and the signature of the
ordering it was taken under, as base64 of JSON, authenticated with HMAC-SHA256.

A cursor is ``<payload>.<mac>``: the payload is readable by whoever holds the cursor (which
is why a list may be ordered only by fields its caller can see,
docs/hardening.md#cursors-and-hidden-fields), but only the service can make one. A cursor
is checked in this order, each step cheap and bounded before the next one runs: its length,
its MAC (``hmac.compare_digest``), and only then base64 and JSON. A forged or altered cursor
therefore never reaches the JSON parser (docs/hardening.md#signed-cursors).

Only encoding lives here; what a position means and how rows after it are found is the
core's (``gql_users.accounts.keyset``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from typing import Any

from gql_users.accounts.errors import BadRequest, ValidationFailed
from gql_users.accounts.keyset import Position, check_position, ordering_signature
from gql_users.accounts.ordering import SortColumn

MAX_CURSOR_LENGTH = 64 * 1024
"""Longest cursor accepted (``after``/``before``), in characters. The sortable columns hold
about 3,500 characters together (description: 2,000), so even a cursor under every ordering
key at once, with every character JSON-escaped, is shorter (docs/hardening.md#graphql-limits)."""

INVALID_CURSOR = "Invalid cursor: pass a cursor exactly as a previous page returned it."
UNSIGNED_CURSOR = (
    "Invalid cursor: it was not made by this service, was altered, or was made before the "
    "server's cursor key changed; start again without one."
)
OTHER_ORDERING = (
    "This cursor belongs to another ordering ({cursor}) than the one requested ({requested}): "
    "use cursors only with the orderBy they were returned for, or start again without one."
)
SEPARATOR = "."


def _plain(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else value


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def encode_cursor(position: Position, columns: Sequence[SortColumn], key: bytes) -> str:
    """The signed cursor of ``position`` under ``columns``; ``key`` is the server's secret."""
    payload = {"o": ordering_signature(columns), "p": [_plain(value) for value in position]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    text = _b64(raw)
    return f"{text}{SEPARATOR}{_mac(key, text)}"


def decode_cursor(cursor: str, columns: Sequence[SortColumn], key: bytes) -> Position:
    """The position a cursor names, checked against the requested ordering.

    Raises:
        BadRequest: the cursor is not signed with ``key``, not one of ours, or made for
            another ordering. (Its length, at most ``MAX_CURSOR_LENGTH``, is checked by the
            caller, ``paging.keyset_request``, which names the argument.)
    """
    if not cursor.isascii():
        raise BadRequest(INVALID_CURSOR)
    text, separator, mac = cursor.partition(SEPARATOR)
    if not separator or not hmac.compare_digest(mac.encode(), _mac(key, text).encode()):
        raise BadRequest(UNSIGNED_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
        signature, values = payload["o"], payload["p"]
    # Only a cursor signed with our key gets here, so these are the service's own mistakes
    # (or a key that leaked); they still answer as a bad cursor, never as a crash.
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
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
