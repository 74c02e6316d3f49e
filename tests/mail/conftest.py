"""A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, recording what it receives."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.pgserver import free_port


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class RecordingHandler:
    deliveries: list[Delivery] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.deliveries.append(
            Delivery(envelope.mail_from, list(envelope.rcpt_tos), cast(EmailMessage, message))
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    logins: list[tuple[str, str]]

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries


@pytest.fixture
def smtp_server_factory() -> Iterator[Any]:
    """Start servers with aiosmtpd options (TLS, authentication); all stop after the test."""
    controllers: list[Controller] = []

    def start(**options: Any) -> SmtpServer:
        handler = RecordingHandler()
        logins: list[tuple[str, str]] = []

        def authenticator(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            logins.append((data.login.decode(), data.password.decode()))
            accepted = data.password == b"smtp-secret"
            return AuthResult(success=accepted, handled=False, auth_data=data)

        if options.pop("with_auth", False):
            options.update(authenticator=authenticator, auth_required=True)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", controller.port, handler, logins)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Any) -> SmtpServer:
    return cast(SmtpServer, smtp_server_factory())


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture
def trusted_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """A self-signed certificate for 127.0.0.1 that this test's TLS clients trust.

    Trust comes from ``SSL_CERT_FILE``, which OpenSSL reads whenever a default context is
    created: the backend under test keeps verifying certificates as in production.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return Certificate(cert, key)
