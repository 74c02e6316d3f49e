"""Waldur's wire forms of uuids, datetimes and dates, shared by every renderer of the core.

Both APIs show the same strings: uuids as 32 lowercase hex characters, datetimes as ISO-8601
in UTC with a "Z" suffix, dates as ``YYYY-MM-DD``, as DRF renders them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any


def render_uuid(value: uuid.UUID) -> str:
    """``UUID('1234...-...')`` -> ``"1234..."``: 32 hex digits, no hyphens."""
    return value.hex


def render_datetime(value: datetime) -> str:
    """An aware (or naive, taken as UTC) datetime as DRF writes it: ``2024-01-02T03:04:05Z``.

    Microseconds are kept when present, as DRF's ``isoformat()`` keeps them.
    """
    if value.tzinfo is not UTC:  # the database's values are in UTC already
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()[: -len("+00:00")] + "Z"  # isoformat() ends "+00:00" in UTC


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


def _optional(convert: Callable[[Any], object]) -> Callable[[Any], object]:
    def convert_optional(value: Any) -> object:
        return None if value is None else convert(value)

    return convert_optional


def _date_text(value: date) -> str:
    return value.isoformat()


_AS_IS: frozenset[Any] = frozenset({str, bool, int, str | None, bool | None, int | None, list[str]})
_CONVERSIONS: dict[Any, Callable[[Any], object]] = {
    uuid.UUID: render_uuid,
    datetime: render_datetime,
    datetime | None: render_optional_datetime,
    date: _date_text,
    date | None: _optional(_date_text),
}


def wire_form_of(type_: Any) -> Callable[[Any], object] | None:
    """``wire_form`` for values of ``type_``, decided once instead of for each value: None when
    such values are written as they are, else the conversion; ``wire_form`` itself for a type
    not known here."""
    if type_ in _AS_IS:
        return None
    return _CONVERSIONS.get(type_, wire_form)
