"""Composing outgoing messages with the headers every backend needs."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from gql_users.mail.addresses import header_address
from gql_users.settings import Settings


def compose_message(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A message from ``settings.mail_from`` to one address, plain text with an optional HTML part.

    The Message-ID domain is taken from the sender address: ``make_msgid`` would otherwise look
    up the host's FQDN, which can block on DNS for seconds.
    """
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = header_address(to)
    message["Date"] = format_datetime(datetime.now(UTC))
    sender_domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "gql-users.local"
    message["Message-ID"] = make_msgid(domain=sender_domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
