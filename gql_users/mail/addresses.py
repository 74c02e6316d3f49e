"""Email address syntax: the validity check used for user input, and the header form of an address.

The check follows Django's ``EmailValidator`` (which Waldur's serializers use), so an address
Waldur accepts is accepted here and vice versa, with two deliberate differences, both about
addresses nobody uses and both so that every accepted address can be put in a ``To`` header:

* the local part is matched as ASCII only. Django compiles its pattern with ``re.IGNORECASE``
  on ``str``, which lets ``[A-Z]`` also match the Kelvin sign and the long s; such addresses
  cannot be sent without SMTPUTF8 anyway;
* a quoted local part may not contain control characters other than an escaped tab. Django
  allows the obsolete ones (RFC 5322 obs-qtext), but Python's header code treats form feed,
  vertical tab and the file/group/record separators as line breaks and refuses them.
"""

from __future__ import annotations

import ipaddress
import re

MAX_EMAIL_LENGTH = 320  # the column size, and Django's limit against pathological inputs

_FLAGS = re.IGNORECASE | re.ASCII
_USER_PART = re.compile(
    # dot-atom
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z"
    # quoted-string: Django's, less the control characters (see the docstring)
    r'|^"([!#-\[\]-\176]|\\[\011\040-\176])*"\Z)',
    _FLAGS,
)
_DOMAIN_PART = re.compile(
    # labels of at most 63 characters (RFC 1034), no leading or trailing hyphen, a 2+ char TLD
    r"((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z",
    _FLAGS,
)
_ADDRESS_LITERAL = re.compile(r"\[([A-F0-9:.]+)\]\Z", _FLAGS)
_DOMAIN_ALLOWLIST = frozenset({"localhost"})


def _to_idna(domain: str) -> str | None:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _is_valid_domain(domain: str) -> bool:
    if _DOMAIN_PART.match(domain):
        return True
    literal = _ADDRESS_LITERAL.match(domain)
    if literal is None:
        return False
    try:
        ipaddress.ip_address(literal[1])
    except ValueError:
        return False
    return True


def is_valid_email(value: str) -> bool:
    """True when ``value`` is a syntactically valid address (Django's ``EmailValidator`` rules).

    Internationalised domains are accepted when their IDNA (punycode) form is valid.
    """
    if not value or "@" not in value or len(value) > MAX_EMAIL_LENGTH:
        return False
    user_part, domain_part = value.rsplit("@", 1)
    if not _USER_PART.match(user_part):
        return False
    if domain_part in _DOMAIN_ALLOWLIST or _is_valid_domain(domain_part):
        return True
    ascii_domain = _to_idna(domain_part)
    return ascii_domain is not None and _is_valid_domain(ascii_domain)


def header_address(value: str) -> str:
    """The form of a valid address to put in a ``To`` header: the domain in its IDNA form.

    Without SMTPUTF8 a header can only carry ASCII addresses, and every valid local part is
    ASCII already (see the module docstring).
    """
    user_part, _, domain_part = value.rpartition("@")
    if domain_part.isascii():
        return value
    return f"{user_part}@{_to_idna(domain_part) or domain_part}"
