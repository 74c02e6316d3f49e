"""Outgoing mail: backends (file outbox, SMTP), composing messages, sending after commit."""

from __future__ import annotations

from gql_users.mail.addresses import header_address, is_valid_email
from gql_users.mail.backends import FileBackend, MailBackend, SmtpBackend, mail_backend
from gql_users.mail.delivery import send_quietly
from gql_users.mail.messages import compose_message
from gql_users.mail.outbox import read_outbox

__all__ = [
    "FileBackend",
    "MailBackend",
    "SmtpBackend",
    "compose_message",
    "header_address",
    "is_valid_email",
    "mail_backend",
    "read_outbox",
    "send_quietly",
]
