"""Field-level validators and coercions, with DRF's messages (docs/writes.md#field-validation).

Both APIs feed raw values through these: JSON gives real booleans and numbers, form and
multipart bodies give strings ("true", "True", "None"), so coercion accepts all of them.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

REQUIRED = "This field is required."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
INVALID_EMAIL = "Enter a valid email address."
INVALID_USERNAME = "Enter a valid username."
INVALID_PHONE = "Invalid phone number format."
INVALID_BOOLEAN = "Must be a valid boolean."
INVALID_INTEGER = "A valid integer is required."
INVALID_SLUG = 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
NULL_CHARACTERS = "Null characters are not allowed."
INVALID_DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
FUTURE_BIRTH_DATE = "Birth date cannot be in the future."

USERNAME_PATTERN = re.compile(r"^[0-9a-z_.@+-]+$")
PHONE_PATTERN = re.compile(r"^\+?[\d \-\(\)]+$")
SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

TRUE_VALUES = frozenset({"true", "1", "yes", "on", "t", "y"})
FALSE_VALUES = frozenset({"false", "0", "no", "off", "f", "n"})
NULL_STRINGS = frozenset({"", "none", "null"})


def parse_uuid(value: object) -> uuid.UUID | None:
    """A UUID written as 32 hex digits, hyphenated or not (what Django's UUIDField accepts),
    surrounding whitespace ignored; None for anything else, a non-string included."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def max_length_message(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def coerce_string(value: Any, *, max_length: int | None, allow_blank: bool = True) -> str:
    """A string field: str (or a number, as DRF accepts) within ``max_length``.

    Raises:
        ValueError: with the DRF message for the problem.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(NOT_A_STRING)
    text = str(value).strip()
    if not text and not allow_blank:
        raise ValueError(BLANK)
    if "\x00" in text:  # PostgreSQL text cannot store NUL; DRF refuses it with this message
        raise ValueError(NULL_CHARACTERS)
    if max_length is not None and len(text) > max_length:
        raise ValueError(max_length_message(max_length))
    return text


def coerce_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_VALUES:
            return True
        if lowered in FALSE_VALUES:
            return False
    raise ValueError(INVALID_BOOLEAN)


def is_null(value: Any) -> bool:
    """JSON null, or one of the spellings of null in a form or multipart body."""
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_STRINGS)


def coerce_optional_integer(value: Any, *, minimum: int | None = None) -> int | None:
    """An integer or null; "", "None" and "null" (form and multipart spellings) mean null."""
    if is_null(value):
        return None
    if isinstance(value, bool):
        raise ValueError(INVALID_INTEGER)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(INVALID_INTEGER)
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(INVALID_INTEGER) from None
    if not isinstance(value, int):
        raise ValueError(INVALID_INTEGER)
    if value > 2**31 - 1:
        raise ValueError("Ensure this value is less than or equal to 2147483647.")
    if minimum is not None and value < minimum:
        raise ValueError(f"Ensure this value is greater than or equal to {minimum}.")
    return value


def parse_iso_date(value: Any) -> date:
    """A calendar date written exactly ``YYYY-MM-DD`` (a ``date`` passes through).

    Stricter than ``date.fromisoformat``, which also takes ``20200101`` and ``2020-W01-1``:
    the message names one format, so only that one is accepted. Datetimes (objects or
    strings), numbers and surrounding spaces are refused, as DRF's DateField refuses them.

    Raises:
        ValueError: with DRF's DateField message.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        raise ValueError(INVALID_DATE)
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2020-13-01, 2021-02-29
        raise ValueError(INVALID_DATE) from None


def coerce_optional_birth_date(value: Any) -> date | None:
    """A birth date or null ("", "None" and "null" are the form and multipart nulls); a date
    after today in UTC is refused."""
    if is_null(value):
        return None
    parsed = parse_iso_date(value)
    if parsed > datetime.now(UTC).date():
        raise ValueError(FUTURE_BIRTH_DATE)
    return parsed

    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None
