"""Field-level validators and coercions, with DRF's messages (B §3.0 "Field-level validation").

Both APIs feed raw values through these: JSON gives real booleans and numbers, form and
multipart bodies give strings ("true", "True", "None"), so coercion accepts all of them.
"""

from __future__ import annotations

import re
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

USERNAME_PATTERN = re.compile(r"^[0-9a-z_.@+-]+$")
PHONE_PATTERN = re.compile(r"^\+?[\d \-\(\)]+$")
SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")

# Django's EmailValidator, reduced to what matters: a dot-atom or quoted local part, and a
# domain of LDH labels with an alphabetic (or punycode) top-level label, or a literal address.
_EMAIL_USER = re.compile(
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z"
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE,
)
_EMAIL_DOMAIN = re.compile(
    r"((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z", re.IGNORECASE
)
_EMAIL_LITERAL = re.compile(r"\[([A-F0-9:.]+)\]\Z", re.IGNORECASE)

TRUE_VALUES = frozenset({"true", "1", "yes", "on", "t", "y"})
FALSE_VALUES = frozenset({"false", "0", "no", "off", "f", "n"})
NULL_STRINGS = frozenset({"", "none", "null"})


def max_length_message(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def is_valid_email(value: str) -> bool:
    if not value or "@" not in value or len(value) > 320:
        return False
    user, _, domain = value.rpartition("@")
    if not _EMAIL_USER.match(user):
        return False
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_EMAIL_DOMAIN.match(domain) or _EMAIL_LITERAL.match(domain))


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


def coerce_optional_integer(value: Any, *, minimum: int | None = None) -> int | None:
    """An integer or null; "", "None" and "null" (form and multipart spellings) mean null."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NULL_STRINGS):
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
