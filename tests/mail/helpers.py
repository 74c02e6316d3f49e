"""Reading what the mail backends delivered: shared by the mail and accounts tests."""

from __future__ import annotations

import re
from email.message import EmailMessage

_LINK_CODE = re.compile(r"user_email_change/([0-9a-f]{32})/")


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "the message has no text/plain part"
    return str(body.get_content()).replace("\r\n", "\n")


def confirmation_code(message: EmailMessage) -> str:
    """The code of the confirmation link in a change-email message."""
    found = _LINK_CODE.search(plain_text(message))
    assert found is not None, "no confirmation link in the message"
    return found[1]
