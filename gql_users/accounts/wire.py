"""Waldur's wire forms of uuids, datetimes and dates, shared by every renderer of the core.

Both APIs show the same strings: uuids as 32 lowercase hex characters, datetimes as ISO-8601
in UTC with a "Z" suffix, dates as ``YYYY-MM-DD``, as DRF renders them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime


def render_uuid(value: uuid.UUID) -> str:
    """``UUID('1234...-...')`` -> ``"1234..."``: 32 hex digits, no hyphens."""
    return value.hex


def render_datetime(value: datetime) -> str:
    """An aware (or naive, taken as UTC) datetime as DRF writes it: ``2024-01-02T03:04:05Z``.

    Microseconds are kept when present, as DRF's ``isoformat()`` keeps them.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def render_optional_datetime(value: datetime | None) -> str | None:
    return None if value is None else render_datetime(value)


def wire_form(value: object) -> object:
    """``value`` as a JSON body carries it: uuids, datetimes and dates in the forms above,
    anything else (strings, numbers, booleans, lists of strings, None) as it is."""
    if isinstance(value, uuid.UUID):
        return render_uuid(value)
    if isinstance(value, datetime):  # before date: a datetime is a date
        return render_datetime(value)
    if isinstance(value, date):  # as DRF's DateField writes it: 2024-01-02
        return value.isoformat()
    return value
