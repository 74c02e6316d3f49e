"""Sending after the database commit, so that mail trouble never costs a request its result."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from gql_users.mail.backends import MailBackend

logger = logging.getLogger("gql_users.mail")


async def send_quietly(backend: MailBackend, message: EmailMessage) -> bool:
    """Send ``message`` and return whether it went out; a failure is logged, never raised.

    Call it after the commit: the change the mail announces is already saved, and the caller
    still gets its answer when the mail server is down. It is awaited rather than started in
    the background, so a response is only sent once the mail is in the outbox (what tests and
    the file backend's users expect) and no task is lost at shutdown; the SMTP timeout bounds
    the wait.

    The log line names the Message-ID, the subject and the error; never the body (it carries
    confirmation codes), the recipients or a credential.
    """
    try:
        await backend.send(message)
    except Exception as error:  # any failure of the transport, by design
        logger.error(
            "mail %s (%r) not sent by the %s backend: %s: %s",
            message.get("Message-ID", "<no id>"),
            message.get("Subject", ""),
            backend.name,
            type(error).__name__,
            error,
        )
        return False
    return True
