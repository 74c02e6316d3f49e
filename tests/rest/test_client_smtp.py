"""A real SMTP server (aiosmtpd on 127.0.0.1) receives the change-email confirmation sent
through the REST route with the SMTP backend, and its code confirms the change
(docs/api-differences.md#mail-backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from waldur_api_client.api.users import (
    users_change_email,
    users_confirm_email,
    users_me_retrieve,
)
from waldur_api_client.models import ConfirmEmailRequestRequest, UserEmailChangeRequest

from gql_users.mail import read_outbox
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.pgserver import free_port
from tests.rest.client_support import SmtpInbox, confirmation_code


@pytest.fixture
def smtp_controller() -> Iterator[Controller]:
    controller = Controller(SmtpInbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    if not controller.loop.is_closed():  # a test may have stopped it already
        controller.stop()


@pytest.fixture
def smtp_inbox(smtp_controller: Controller) -> SmtpInbox:
    return cast(SmtpInbox, smtp_controller.handler)


@pytest.fixture
async def live_settings(settings: Settings, smtp_controller: Controller) -> Settings:
    """The live server's settings (tests/rest/conftest.py), sending mail by SMTP."""
    port = free_port()
    return settings.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{port}/",
            "port": port,
            "mail_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_controller.port,
            "smtp_timeout": 5.0,
        }
    )


async def test_confirmation_mail_goes_through_smtp_and_its_code_confirms(
    api: Any, factory: Factory, smtp_inbox: SmtpInbox, live_settings: Settings
) -> None:
    user = await factory.user("smtpuser", email="smtpuser@example.com")
    client = api(await factory.token(user))
    response = await users_change_email.asyncio_detailed(
        uuid=user.uuid, client=client, body=UserEmailChangeRequest(email="moved@example.org")
    )
    assert response.status_code == 200

    ((recipients, message),) = smtp_inbox.messages  # sent before the response, not in background
    assert recipients == ["moved@example.org"]
    assert message["From"] == live_settings.mail_from
    assert message["Subject"] == "Verify new email address."
    assert read_outbox(live_settings.mail_dir) == []  # the file backend was not used

    await users_confirm_email.asyncio_detailed(
        client=api(), body=ConfirmEmailRequestRequest(code=confirmation_code(message))
    )
    me = await users_me_retrieve.asyncio(client=client)
    assert me.email == "moved@example.org" and me.requested_email is None


async def test_a_dead_smtp_server_does_not_lose_the_request(
    api: Any, factory: Factory, smtp_controller: Controller, smtp_inbox: SmtpInbox
) -> None:
    """Sending happens after the commit: with the server gone the request still stands."""
    user = await factory.user("unlucky", email="unlucky@example.com")
    client = api(await factory.token(user))
    smtp_controller.stop()
    response = await users_change_email.asyncio_detailed(
        uuid=user.uuid, client=client, body=UserEmailChangeRequest(email="later@example.org")
    )
    assert response.status_code == 200 and smtp_inbox.messages == []
    me = await users_me_retrieve.asyncio(client=client)
    assert me.requested_email == "later@example.org" and me.email == "unlucky@example.com"
