"""The SMTP backend against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.email_change import confirm_email_change
from gql_users.accounts.operations import already_read, change_email
from gql_users.db.models import User
from gql_users.mail import FileBackend, SmtpBackend, compose_message, mail_backend, send_quietly
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.mail.conftest import Certificate, SmtpServer
from tests.mail.helpers import confirmation_code, plain_text
from tests.pgserver import free_port


def backend_for(server: SmtpServer, **options: Any) -> SmtpBackend:
    return SmtpBackend(host=server.host, port=server.port, timeout=5, **options)


def hello(settings: Settings, to: str = "alice@example.com") -> Any:
    return compose_message(settings, to=to, subject="Hello", text="Hello from gql-users.\n")


async def test_message_is_delivered_with_envelope_from_the_headers(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    await backend_for(smtp_server).send(hello(settings))

    [delivery] = smtp_server.deliveries
    assert delivery.mail_from == settings.mail_from
    assert delivery.rcpt_tos == ["alice@example.com"]
    assert delivery.message["Subject"] == "Hello"
    assert plain_text(delivery.message) == "Hello from gql-users.\n"


async def test_credentials_from_settings_are_used_to_log_in_over_starttls(
    settings: Settings, smtp_server_factory: Any, trusted_certificate: Certificate
) -> None:
    server = smtp_server_factory(with_auth=True, tls_context=trusted_certificate.server_context())
    configured = settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_tls": "starttls",
            "smtp_username": "mailer",
            "smtp_password": "smtp-secret",
        }
    )
    backend = mail_backend(configured)

    await backend.send(hello(settings))

    assert server.logins == [("mailer", "smtp-secret")]
    assert len(server.deliveries) == 1


async def test_wrong_credentials_raise_from_the_backend(
    settings: Settings, smtp_server_factory: Any, trusted_certificate: Certificate
) -> None:
    server = smtp_server_factory(with_auth=True, tls_context=trusted_certificate.server_context())
    backend = backend_for(server, tls="starttls", username="mailer", password="wrong")

    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await backend.send(hello(settings))
    assert server.deliveries == []


async def test_starttls_mode_upgrades_the_connection(
    settings: Settings, smtp_server_factory: Any, trusted_certificate: Certificate
) -> None:
    server = smtp_server_factory(
        tls_context=trusted_certificate.server_context(), require_starttls=True
    )

    await backend_for(server, tls="starttls").send(hello(settings))

    assert len(server.deliveries) == 1


async def test_none_mode_does_not_upgrade_and_a_server_requiring_tls_refuses_it(
    settings: Settings, smtp_server_factory: Any, trusted_certificate: Certificate
) -> None:
    server = smtp_server_factory(
        tls_context=trusted_certificate.server_context(), require_starttls=True
    )

    with pytest.raises(aiosmtplib.SMTPException):
        await backend_for(server, tls="none").send(hello(settings))
    assert server.deliveries == []


async def test_tls_mode_speaks_implicit_tls(
    settings: Settings, smtp_server_factory: Any, trusted_certificate: Certificate
) -> None:
    server = smtp_server_factory(ssl_context=trusted_certificate.server_context())

    await backend_for(server, tls="tls").send(hello(settings))

    assert len(server.deliveries) == 1


async def test_an_unreachable_server_is_logged_and_not_raised_by_send_quietly(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    backend = SmtpBackend(
        host="127.0.0.1", port=free_port(), username="mailer", password="smtp-secret", timeout=2
    )
    message = compose_message(
        settings, to="alice@example.com", subject="Verify", text="code 0123456789abcdef\n"
    )
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await backend.send(message)

    with caplog.at_level(logging.ERROR, logger="gql_users.mail"):
        sent = await send_quietly(backend, message)

    assert sent is False
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert message["Message-ID"] in record.getMessage()
    assert "SMTPConnectError" in record.getMessage()
    assert "smtp-secret" not in caplog.text
    assert "0123456789abcdef" not in caplog.text


def test_the_password_never_appears_in_the_backend_repr() -> None:
    backend = SmtpBackend(host="mail.example", port=587, username="mailer", password="hunter2")
    assert "hunter2" not in repr(backend)
    assert "mailer" in repr(backend)


def test_factory_picks_the_backend_the_settings_name(settings: Settings) -> None:
    file_backend = mail_backend(settings)
    assert file_backend == FileBackend(Path(settings.mail_dir))

    smtp_settings = settings.model_copy(
        update={"mail_backend": "smtp", "smtp_host": "mail.example", "smtp_port": 465,
                "smtp_tls": "tls", "smtp_timeout": 3.5}
    )  # fmt: skip
    smtp_backend = mail_backend(smtp_settings)
    assert smtp_backend == SmtpBackend(host="mail.example", port=465, tls="tls", timeout=3.5)


async def test_email_change_confirmed_with_the_code_received_over_smtp(
    session: AsyncSession, settings: Settings, factory: Factory, smtp_server: SmtpServer
) -> None:
    """Acceptance (issue 3): the mail reaches a real SMTP server and its code confirms."""
    user = await factory.user("alice", email="alice@example.com")
    smtp_settings = replace_settings(settings, smtp_server)

    await change_email(
        session, smtp_settings, Caller(user=user), user.uuid, already_read("alice@new.example")
    )

    [delivery] = smtp_server.deliveries
    assert delivery.rcpt_tos == ["alice@new.example"]
    await confirm_email_change(session, smtp_settings, confirmation_code(delivery.message))
    stored = await session.scalar(
        select(User.email).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert stored == "alice@new.example"


def replace_settings(settings: Settings, server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"mail_backend": "smtp", "smtp_host": server.host, "smtp_port": server.port}
    )
