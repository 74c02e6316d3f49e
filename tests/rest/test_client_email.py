"""Email change through the generated client, with the code read from the file outbox
(docs/writes.md#email-change, docs/api-differences.md#mail-backends): request, ``requested_email``
meanwhile, anonymous confirm, cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from waldur_api_client.api.users import (
    users_cancel_change_email,
    users_change_email,
    users_confirm_email,
    users_me_retrieve,
    users_retrieve,
)
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import ConfirmEmailRequestRequest, UserEmailChangeRequest

from gql_users.mail import read_outbox
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.rest.client_support import confirmation_code, error_of


async def test_change_email_then_confirm_anonymously_with_the_code_from_the_outbox(
    api: Any, factory: Factory, live_settings: Settings
) -> None:
    user = await factory.user("mover", email="old@example.com")
    client = api(await factory.token(user))
    response = await users_change_email.asyncio_detailed(
        uuid=user.uuid, client=client, body=UserEmailChangeRequest(email="new@example.org")
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "detail": "The change email request has been successfully created."
    }

    (message,) = read_outbox(live_settings.mail_dir)
    assert message["To"] == "new@example.org"
    assert message["Subject"] == "Verify new email address."
    code = confirmation_code(message)

    pending = await users_me_retrieve.asyncio(client=client)
    assert pending.email == "old@example.com" and pending.requested_email == "new@example.org"

    confirmed = await users_confirm_email.asyncio_detailed(
        client=api(), body=ConfirmEmailRequestRequest(code=code)
    )
    assert confirmed.status_code == 200
    assert json.loads(confirmed.content) == {"detail": "Email has been successfully updated."}
    after = await users_me_retrieve.asyncio(client=client)
    assert after.email == "new@example.org" and after.requested_email is None

    with pytest.raises(UnexpectedStatus) as used:
        await users_confirm_email.asyncio_detailed(
            client=api(), body=ConfirmEmailRequestRequest(code=code)
        )
    assert used.value.status_code == 404
    assert error_of(used.value) == {"detail": "No ChangeEmailRequest matches the given query."}


async def test_staff_changes_another_users_email_and_the_hyphenated_code_confirms(
    api: Any, factory: Factory, live_settings: Settings
) -> None:
    staff = await factory.user("staff", is_staff=True)
    user = await factory.user("managed", email="managed@example.com")
    client = api(await factory.token(staff))
    await users_change_email.asyncio_detailed(
        uuid=user.uuid.hex,  # type: ignore[arg-type]
        client=client,
        body=UserEmailChangeRequest(email="managed@example.net"),
    )
    seen_by_staff = await users_retrieve.asyncio(uuid=user.uuid, client=client)
    assert seen_by_staff.requested_email == "managed@example.net"
    code = confirmation_code(read_outbox(live_settings.mail_dir)[-1])
    hyphenated = f"{code[:8]}-{code[8:12]}-{code[12:16]}-{code[16:20]}-{code[20:]}"
    await users_confirm_email.asyncio_detailed(
        client=api(), body=ConfirmEmailRequestRequest(code=hyphenated)
    )
    assert (await users_retrieve.asyncio(uuid=user.uuid, client=client)).email == (
        "managed@example.net"
    )


async def test_cancel_change_email_removes_the_pending_request(
    api: Any, factory: Factory, live_settings: Settings
) -> None:
    user = await factory.user("regretful", email="first@example.com")
    client = api(await factory.token(user))
    await users_change_email.asyncio_detailed(
        uuid=user.uuid, client=client, body=UserEmailChangeRequest(email="second@example.com")
    )
    code = confirmation_code(read_outbox(live_settings.mail_dir)[-1])

    cancelled = await users_cancel_change_email.asyncio_detailed(uuid=user.uuid, client=client)
    assert cancelled.status_code == 200
    assert json.loads(cancelled.content) == {
        "detail": "The change email request has been successfully deleted."
    }
    me = await users_me_retrieve.asyncio(client=client)
    assert me.requested_email is None and me.email == "first@example.com"

    again = await users_cancel_change_email.asyncio_detailed(uuid=user.uuid, client=client)
    assert again.status_code == 200
    assert json.loads(again.content) == {"detail": "The change email request has not been found."}
    with pytest.raises(UnexpectedStatus) as stale:
        await users_confirm_email.asyncio_detailed(
            client=api(), body=ConfirmEmailRequestRequest(code=code)
        )
    assert stale.value.status_code == 404


async def test_change_email_validation_and_bad_codes(api: Any, factory: Factory) -> None:
    user = await factory.user("careful")
    client = api(await factory.token(user))
    with pytest.raises(UnexpectedStatus) as invalid:
        await users_change_email.asyncio_detailed(
            uuid=user.uuid, client=client, body=UserEmailChangeRequest(email="not-an-email")
        )
    assert invalid.value.status_code == 400
    assert error_of(invalid.value) == {"email": ["Enter a valid email address."]}
    with pytest.raises(UnexpectedStatus) as garbage:
        await users_confirm_email.asyncio_detailed(
            client=api(), body=ConfirmEmailRequestRequest(code="not-a-code")
        )
    assert garbage.value.status_code == 400
    assert error_of(garbage.value) == ["The confirmation code is required."]
