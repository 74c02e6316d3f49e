"""Email address validity (Django's EmailValidator rules) and header-safe addresses."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gql_users.mail import compose_message, header_address, is_valid_email
from gql_users.settings import Settings

# Cases from Django's validator tests (tests/validators/tests.py), which Waldur's EmailField uses.
VALID = [
    "email@here.com",
    "weirder-email@here.and.there.com",
    "email@[127.0.0.1]",
    "email@[2001:dB8::1]",
    "email@[2001:dB8:0:0:0:0:0:1]",
    "email@[::fffF:127.0.0.1]",
    "example@valid-----hyphens.com",
    "example@valid-with-hyphens.com",
    "test@domain.with.idn.tld.उदाहरण.परीक्षा",
    "email@localhost",
    '"test@test"@example.com',
    "example@atm." + "a" * 63,
    "example@" + "a" * 63 + ".atm",
    "example@" + "a" * 63 + "." + "b" * 10 + ".atm",
    '"\\\011"@here.com',
    "a+tag@example.co.uk",
    "o'brien@example.ie",
]
INVALID = [
    "",
    "abc",
    "abc@",
    "abc@bar",
    "a @x.cz",
    "abc@.com",
    "something@@somewhere.com",
    "email@127.0.0.1",
    "email@[127.0.0.256]",
    "email@[2001:db8::12345]",
    "email@[2001:db8:0:0:0:0:1]",
    "email@[::ffff:127.0.0.256]",
    "email@[2001:dg8::1]",
    "example@invalid-.com",
    "example@-invalid.com",
    "example@invalid.com-",
    "example@inv-.alid-.com",
    "example@inv-.-alid.com",
    'test@example.com\n\n<script src="x.js">',
    '"\\\012"@here.com',
    "trailingdot@shouldfail.com.",
    "example@atm." + "a" * 64,
    "example@" + "b" * 64 + ".atm.com",
    "a@b.com\n",
    "a\n@b.com",
    '"test@test"\n@example.com',
    "a@[127.0.0.1]\n",
    "invalid_email",
    "nul\x00@example.com",
    '"\x0c"@example.com',  # form feed: Python's header code takes it for a line break
    '"\\\x1c"@example.com',
    '"a b"@example.com',  # unescaped space, as Django
    "\u212aelvin@example.com",  # KELVIN SIGN: Django's case-insensitive [A-Z] lets it through
    "a" * 310 + "@example.com",  # 322 characters: over the 320 limit
]


@pytest.mark.parametrize("address", VALID)
def test_valid_addresses_are_accepted(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize("address", INVALID)
def test_invalid_addresses_are_rejected(address: str) -> None:
    assert not is_valid_email(address)


def test_internationalised_domains_go_into_headers_in_idna_form() -> None:
    assert header_address("anna@bücher.example") == "anna@xn--bcher-kva.example"
    assert header_address("anna@example.com") == "anna@example.com"


_atext = st.sampled_from("abcxyzABC0189!#$%&'*+/=?^_`{|}~-")
_local_parts = st.one_of(
    st.lists(st.text(_atext, min_size=1, max_size=8), min_size=1, max_size=3).map(".".join),
    st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=12).map(
        lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
    st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=6).map(
        lambda text: '"' + "".join("\\" + char for char in text) + '"'
    ),
)
_domains = st.one_of(
    st.sampled_from(["example.com", "localhost", "[127.0.0.1]", "[::1]", "bücher.example"]),
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\.[a-z]{2,6}\Z"),
)


@given(st.builds(lambda local, domain: f"{local}@{domain}", _local_parts, _domains))
def test_every_valid_address_makes_a_message_that_parses_back(address: str) -> None:
    """No accepted address can break the confirmation mail (header injection, encoding)."""
    if not is_valid_email(address):
        return  # e.g. a quoted part with CR or LF: rejected, which is the point
    message = compose_message(Settings(), to=address, subject="s", text="t")
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert len(parsed.get_all("To") or []) == 1
    assert "Subject" in parsed and parsed["Subject"] == "s"
    assert (
        parsed["To"].addresses[0].addr_spec.rpartition("@")[2]
        == (header_address(address).rpartition("@")[2])
    )
