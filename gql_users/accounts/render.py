"""Waldur's wire forms for uuids and datetimes, shared by every renderer of the core.

Both APIs show the same strings (Part A item 12 and B §3.0): uuids as 32 lowercase hex
characters, datetimes as ISO-8601 in UTC with a "Z" suffix, dates as ``YYYY-MM-DD``, as DRF
renders them.
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


def render_optional_date(value: date | None) -> str | None:
    """A calendar date as DRF's DateField writes it: ``2024-01-02``."""
    return None if value is None else value.isoformat()
