"""The list's query string, parsed into the core's typed values: the filters (``UserFilter``),
the page (``PageRequest``) and the ordering (``OrderKey``s), with Waldur's parsing quirks and
REST's error messages. GraphQL builds the same values from its typed inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Literal

from gql_users.accounts.errors import NotFound, ValidationFailed
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.ordering import ORDERING_FIELDS, OrderKey
from gql_users.accounts.pagination import (
    DEFAULT_PAGE_SIZE,
    INVALID_PAGE,
    LAST_PAGE,
    MAX_PAGE_SIZE,
    PageRequest,
)
from gql_users.accounts.validation import NULL_CHARACTERS, parse_uuid

INVALID_DATETIME = "Enter a valid date/time."
INVALID_UUID = "Must be a valid UUID."

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_BOOLEAN_PARAMS = ("is_active", "is_staff", "is_support")
_DATETIME_PARAMS = ("date_joined", "modified", "agreement_date")
_UUID_PARAMS = ("customer_uuid", "project_uuid")
_ROLE_PARAMS = ("organization_roles", "project_roles")
# An offset whose "+" reached us unencoded arrives as a space: "2024-01-02T03:04:05 00:00".
_SPACE_FOR_PLUS_OFFSET = re.compile(
    r"(?P<head>.*[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?) (?P<offset>\d{2}:?\d{2})"
)


# --- filters ------------------------------------------------------------------------------------


def user_filter_from_query(params: Mapping[str, Sequence[str]]) -> UserFilter:
    """Parse raw query-string values (every value of each key, in request order).

    For single-valued filters the last value wins, as Django's ``QueryDict`` does. Empty
    values and unknown keys are ignored. All bad values are reported together.

    Raises:
        ValidationFailed: ``{"date_joined": ["Enter a valid date/time."]}`` for a date that
            does not parse, ``{"customer_uuid": ["Must be a valid UUID."]}`` for a malformed
            uuid, ``["Null characters are not allowed."]`` for a value holding NUL, one key
            per bad parameter.
    """
    values: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for field in fields(UserFilter):
        name = field.name
        if any("\x00" in value for value in params.get(name, ())):
            # PostgreSQL text cannot hold NUL; Django's form fields refuse it the same way.
            errors[name] = [NULL_CHARACTERS]
            continue
        if name in _ROLE_PARAMS:
            roles = tuple(value.strip() for value in params.get(name, ()) if value.strip())
            if roles:
                values[name] = roles
            continue
        raw = _last(params, name)
        if raw is None:
            continue
        if name == "username_list":
            values[name] = parse_username_list(raw)
        elif name in _BOOLEAN_PARAMS:
            values[name] = parse_boolean(raw)
        elif name in _DATETIME_PARAMS:
            parsed_datetime = parse_datetime(raw)
            if parsed_datetime is None:
                errors[name] = [INVALID_DATETIME]
            values[name] = parsed_datetime
        elif name in _UUID_PARAMS:
            parsed_uuid = parse_uuid(raw)
            if parsed_uuid is None:
                errors[name] = [INVALID_UUID]
            values[name] = parsed_uuid
        else:
            values[name] = raw
    if errors:
        raise ValidationFailed(errors)
    # Each value was parsed to its field's type above; a dict of mixed value types cannot carry
    # one type per key, so mypy sees object for every field.
    return UserFilter(**values)  # type: ignore[arg-type]


def _last(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    given = params.get(name)
    if not given or given[-1] == "":
        return None
    return given[-1]


def parse_username_list(raw: str) -> tuple[str, ...]:
    """``"a, b,,"`` -> ``("a", "b")``; a value of only commas and blanks gives ``()``."""
    return tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))


def parse_boolean(raw: str) -> bool | None:
    """true/false/1/0 in any case; anything else means "no filter" (django-filter's
    BooleanWidget)."""
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def parse_datetime(raw: str) -> datetime | None:
    """An ISO datetime or date; naive values are UTC (Waldur's TIME_ZONE). None when invalid,
    or when its UTC time falls outside years 1-9999.

    A "+" in an offset that reached us unencoded (decoded as a space) is put back rather than
    rejected: a hand-typed URL deserves the same answer as the generated client's.
    """
    text = raw.strip()
    unencoded_plus = _SPACE_FOR_PLUS_OFFSET.fullmatch(text)
    if unencoded_plus:
        text = f"{unencoded_plus['head']}+{unencoded_plus['offset']}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        return None


# --- page ---------------------------------------------------------------------------------------

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def page_request_from_query(page: str | None, page_size: str | None) -> PageRequest:
    """Parse the raw ``page`` and ``page_size`` values (None when absent).

    ``page_size``: a positive integer, cut to 300; anything else (0, negative, not a number,
    empty, over 4,300 digits) falls back to 10, as DRF does. ``page``: absent means 1,
    ``last`` means the last page; other values must be integers and are range-checked by
    ``resolve``.

    Raises:
        NotFound: "Invalid page." when ``page`` is present but not an integer (an empty
            value included, as Django's paginator rejects it) or over 4,300 digits.
    """
    return PageRequest(page=_parse_page(page), size=parse_page_size(page_size))


def _parse_int(raw: str) -> int | None:
    """An integer written in decimal (spaces and a sign allowed), else None.

    Over 4,300 digits is None too: Python's ``int()`` refuses to convert that many (a guard
    against quadratic conversion), and so Django's paginator and DRF's page size do.
    """
    if not _INTEGER.fullmatch(raw):
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _parse_page(raw: str | None) -> int | Literal["last"]:
    if raw is None:
        return 1
    if raw == LAST_PAGE:
        return LAST_PAGE
    number = _parse_int(raw)
    if number is None:
        raise NotFound(INVALID_PAGE)
    return number


def parse_page_size(raw: str | None) -> int:
    size = None if raw is None else _parse_int(raw)
    if size is None:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE) if size > 0 else DEFAULT_PAGE_SIZE


# --- ordering -----------------------------------------------------------------------------------


def invalid_choice(value: str) -> ValidationFailed:
    return ValidationFailed(
        {"o": [f"Select a valid choice. {value} is not one of the available choices."]}
    )


def ordering_from_query(values: Sequence[str]) -> list[OrderKey]:
    """Parse every ``o`` value: each may be a comma-separated list (``o=-is_active,username``)
    and ``o`` may be repeated (``o=-is_active&o=username``, as the generated client sends it);
    all keys apply, in order. Blank items are skipped.

    Returns:
        The keys in request order; an empty list when none were given (then the default,
        username ascending, applies).

    Raises:
        ValidationFailed: ``{"o": ["Select a valid choice. X is not one of the available
            choices."]}`` naming the first unknown item as it was written.
    """
    keys: list[OrderKey] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            descending = item.startswith("-")
            name = item[1:] if descending else item
            if name not in ORDERING_FIELDS:
                raise invalid_choice(item)
            keys.append(OrderKey(name, descending))
    return keys
