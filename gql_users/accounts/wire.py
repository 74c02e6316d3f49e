"""Waldur's wire forms of uuids, datetimes and dates, shared by every renderer of the core.

Both APIs show the same strings: uuids as 32 lowercase hex characters, datetimes as ISO-8601
in UTC with a "Z" suffix, dates as ``YYYY-MM-DD``, as DRF renders them.

A statement that only renders can also load such columns in their wire form (``WireUuid``,
``WireDateTime``, ``WireDate`` with ``type_coerce``): on SQLite, whose stored text is (nearly)
the wire form already, no Python object is made for the value at all
(docs/architecture.md#values-in-their-wire-form).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.types import UserDefinedType


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


# --- columns loaded in their wire form --------------------------------------------------------

_SQLITE_DATETIME_LENGTH = len("2024-01-02 03:04:05.000006")


def _sqlite_datetime_text(text: str | None) -> str | None:
    """A datetime as SQLite holds it (SQLAlchemy writes ``2024-01-02 03:04:05.000006``, naive
    UTC) in its wire form, by slicing; any other stored form through ``render_datetime``."""
    if text is None:
        return None
    if (
        len(text) == _SQLITE_DATETIME_LENGTH
        and text[10] == " "
        and text[19] == "."
        and text[20:].isdigit()
    ):
        if text.endswith(".000000"):  # isoformat() leaves out zero microseconds
            return f"{text[:10]}T{text[11:19]}Z"
        return f"{text[:10]}T{text[11:]}Z"
    return render_datetime(datetime.fromisoformat(text))


class _WireForm(UserDefinedType[str]):
    """A column read as its wire form's text: ``sqlite`` says how SQLite's stored value becomes
    it (None: it is already), ``loaded`` how a value loaded by any other driver does. The choice
    is made once per column of a compiled statement, not per value."""

    cache_ok = True
    sqlite: Callable[[Any], str | None] | None = None
    loaded: Callable[[Any], object] = staticmethod(wire_form)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return self.sqlite
        return _optional(self.loaded)


class WireUuid(_WireForm):
    """A uuid column as 32 hex digits (SQLite stores exactly that)."""

    cache_ok = True
    loaded = staticmethod(render_uuid)


class WireDateTime(_WireForm):
    """A datetime column as ``2024-01-02T03:04:05Z`` (SQLite's stored text, sliced)."""

    cache_ok = True
    sqlite = staticmethod(_sqlite_datetime_text)
    loaded = staticmethod(render_datetime)


class WireDate(_WireForm):
    """A date column as ``2024-01-02`` (SQLite stores exactly that)."""

    cache_ok = True
    loaded = staticmethod(_date_text)
