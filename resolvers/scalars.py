"""Custom scalars: the wire forms of uuids and datetimes are the REST shim's
(docs/api-differences.md#uuids-with-or-without-hyphens).

``UUID`` is written as 32 lowercase hex digits and read with or without hyphens; ``DateTime``
is ISO 8601 in UTC with a ``Z`` suffix and read with any offset (a value without one is UTC,
as Waldur's TIME_ZONE); ``Date`` is ``YYYY-MM-DD``; ``JSON`` is any JSON value. They replace
Strawberry's built-ins through ``StrawberryConfig.scalar_map`` so that the Python types stay
``uuid.UUID``, ``datetime`` and ``date`` in resolvers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from gql_users.accounts.validation import parse_iso_date, parse_uuid
from gql_users.accounts.wire import render_datetime

JSONValue = NewType("JSONValue", object)
"""Annotate a field with this to expose an arbitrary JSON value as the ``JSON`` scalar."""


def uuid_from_input(value: Any) -> uuid.UUID:
    """The core's ``parse_uuid``, with a GraphQL message when the value is no uuid."""
    if not isinstance(value, str):
        raise ValueError("UUID must be a string of 32 hex digits, with or without hyphens.")
    parsed = parse_uuid(value)
    if parsed is None:
        raise ValueError(f"{value!r} is not a valid UUID.")
    return parsed


def serialize_uuid(value: uuid.UUID) -> str:
    return value.hex


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date-time (e.g. 2024-01-02T03:04:05Z)."
        ) from None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError(f"{value!r} is outside years 1-9999 in UTC.") from None


def parse_date(value: Any) -> date:
    """Exactly ``YYYY-MM-DD``, as the REST shim reads a date (one parser for both)."""
    if not isinstance(value, str):
        raise ValueError("Date must be a string YYYY-MM-DD.")
    try:
        return parse_iso_date(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD).") from None


UUID_SCALAR = strawberry.scalar(
    name="UUID",
    description="A UUID, written as 32 lowercase hex digits; hyphenated input is accepted.",
    serialize=serialize_uuid,
    parse_value=uuid_from_input,
)
DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date-time, written in UTC with a Z suffix; input without an "
    "offset is taken as UTC.",
    serialize=render_datetime,
    parse_value=parse_datetime,
)
DATE_SCALAR = strawberry.scalar(
    name="Date",
    description="An ISO 8601 calendar date (YYYY-MM-DD).",
    serialize=date.isoformat,
    parse_value=parse_date,
)
JSON_SCALAR = strawberry.scalar(
    name="JSON",
    description="Any JSON value.",
    specified_by_url="https://ecma-international.org/publications-and-standards/standards/ecma-404/",
)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    uuid.UUID: UUID_SCALAR,
    datetime: DATETIME_SCALAR,
    date: DATE_SCALAR,
    JSONValue: JSON_SCALAR,
}
