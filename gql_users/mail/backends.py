"""Mail backends: a file outbox (the default, nothing to run) and SMTP through aiosmtplib.

A backend has one job, ``await backend.send(message)``, and raises when the message was not
delivered. Deciding what a failure means for the request is ``send_quietly``'s job.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from gql_users.settings import Settings

EML_SUFFIX = ".eml"


class MailBackend(Protocol):
    @property
    def name(self) -> str:
        """Which backend this is (``file``, ``smtp``), as logs name it."""
        ...

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` or raise."""
        ...


def outbox_file_name() -> str:
    """A unique name that sorts in sending order: a UTC timestamp, then a random uuid."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}{EML_SUFFIX}"


def _write_atomically(directory: Path, name: str, content: bytes) -> Path:
    """Write to a hidden temporary file, fsync, then rename into place.

    ``os.replace`` within one directory is atomic, so a reader listing ``*.eml`` sees either
    nothing or the whole message. Files are private to the service user because they carry
    confirmation codes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final_path = directory / name
    temporary_path = directory / f".{name}.tmp"
    descriptor = os.open(temporary_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary_path, final_path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
    return final_path


@dataclass(frozen=True, slots=True)
class FileBackend:
    """One RFC 5322 ``.eml`` file per message (CRLF line endings, as on the wire)."""

    directory: Path
    name: str = "file"

    async def send(self, message: EmailMessage) -> None:
        await self.write(message)

    async def write(self, message: EmailMessage) -> Path:
        """Like ``send``, and return the path of the new file."""
        content = message.as_bytes(policy=policy.SMTP)
        return await asyncio.to_thread(
            _write_atomically, self.directory, outbox_file_name(), content
        )


@dataclass(frozen=True, slots=True)
class SmtpBackend:
    """One SMTP connection per message; the envelope sender is the message's ``From``.

    ``tls``: ``none`` sends in clear (no opportunistic STARTTLS, so the mode means what it
    says), ``starttls`` upgrades the connection and fails if the server cannot, ``tls`` is
    implicit TLS (usually port 465). Certificates are always verified.
    """

    host: str
    port: int
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0
    name: str = "smtp"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpBackend:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username or None,
            password=self.password or None,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            timeout=self.timeout,
        )


def mail_backend(settings: Settings) -> MailBackend:
    """The backend that ``settings.mail_backend`` names. Cheap: build one per use if you like."""
    if settings.mail_backend == "smtp":
        return SmtpBackend.from_settings(settings)
    return FileBackend(Path(settings.mail_dir))
