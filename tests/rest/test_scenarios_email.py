"""Waldur's UserConfirmEmailTest (58-67) through the REST shim, with the mail read back from the
file outbox (the default backend) rather than a mocked task queue: the REST wire of each step.
Who may change whose email, and a confirmation clearing rival requests, are tested through both
APIs in tests/parity/test_email_password_remote.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from gql_users.db.models import EmailChangeRequest, User, utcnow
from gql_users.mail import read_outbox
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.mail.helpers import confirmation_code, plain_text
from tests.rest.scenario_helpers import (
    client_with,
    detail_path,
    json_of,
    reloaded,
)

CONFIRM = "/api/users/confirm_email/"
CREATED = {"detail": "The change email request has been successfully created."}
UPDATED = {"detail": "Email has been successfully updated."}
NO_REQUEST = {"detail": "No ChangeEmailRequest matches the given query."}


@pytest.fixture
async def user(factory: Factory) -> User:
    return await factory.user("mover", email="old@example.com")


async def pending(factory: Factory, user: User) -> EmailChangeRequest | None:
    return await factory.session.scalar(
        select(EmailChangeRequest)
        .where(EmailChangeRequest.user_id == user.id)
        .execution_options(populate_existing=True)
    )


async def request_change(client: Any, factory: Factory, user: User, email: str) -> Any:
    return await client.post(
        detail_path(user, "change_email"), json={"email": email}, headers=await factory.auth(user)
    )


async def test_change_email_request_is_created_if_it_does_not_exist_yet(
    client: Any, factory: Factory, user: User
) -> None:
    response = await request_change(client, factory, user, "new@example.com")
    assert response.status == 200
    assert await json_of(response) == CREATED
    stored = await reloaded(factory, user)
    assert stored is not None and stored.email == "old@example.com"
    change = await pending(factory, user)
    assert change is not None and change.email == "new@example.com"
    me = await json_of(await client.get("/api/users/me/", headers=await factory.auth(user)))
    assert me["requested_email"] == "new@example.com" and me["email"] == "old@example.com"


async def test_change_email_request_is_created_if_email_exists_already(
    client: Any, factory: Factory, user: User
) -> None:
    await factory.user("holder", email="taken@example.com")
    response = await request_change(client, factory, user, "taken@example.com")
    assert response.status == 200
    assert await pending(factory, user) is not None


async def test_change_email_request_is_not_created_if_email_is_invalid(
    client: Any, factory: Factory, user: User
) -> None:
    response = await request_change(client, factory, user, "invalid_email")
    assert response.status == 400
    assert await json_of(response) == {"email": ["Enter a valid email address."]}
    assert await pending(factory, user) is None


async def test_when_change_email_request_is_confirmed_user_email_is_updated(
    client: Any, factory: Factory, user: User
) -> None:
    await request_change(client, factory, user, "new@example.com")
    change = await pending(factory, user)
    assert change is not None
    response = await client.post(
        CONFIRM, json={"code": change.uuid.hex}, headers=await factory.auth(user)
    )
    assert response.status == 200
    assert await json_of(response) == UPDATED
    stored = await reloaded(factory, user)
    assert stored is not None and stored.email == "new@example.com"
    assert await pending(factory, user) is None


async def test_validate_email_change_max_age(client: Any, factory: Factory, user: User) -> None:
    await request_change(client, factory, user, "new@example.com")
    change = await pending(factory, user)
    assert change is not None
    await factory.session.execute(
        update(EmailChangeRequest)
        .where(EmailChangeRequest.id == change.id)
        .values(created=utcnow() - timedelta(days=2))
    )
    await factory.session.commit()
    response = await client.post(CONFIRM, json={"code": change.uuid.hex})
    assert response.status == 400
    body = await json_of(response)
    assert body[0] == "Request has expired." and body == ["Request has expired."]
    assert await pending(factory, user) is not None  # kept, as in Waldur
    stored = await reloaded(factory, user)
    assert stored is not None and stored.email == "old@example.com"


async def test_anonymous_user_can_confirm_email(client: Any, factory: Factory, user: User) -> None:
    await request_change(client, factory, user, "new@example.com")
    change = await pending(factory, user)
    assert change is not None
    response = await client.post(CONFIRM, json={"code": change.uuid.hex})
    assert response.status == 200
    stored = await reloaded(factory, user)
    assert stored is not None and stored.email == "new@example.com"


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "not-a-code"}, {"code": 42}])
async def test_confirm_email_without_a_usable_code_is_a_bare_list_error(
    client: Any, body: dict[str, Any]
) -> None:
    response = await client.post(CONFIRM, json=body)
    assert response.status == 400
    assert await json_of(response) == ["The confirmation code is required."]


async def test_confirm_email_with_an_unknown_code_is_404(client: Any) -> None:
    response = await client.post(CONFIRM, json={"code": "0" * 32})
    assert response.status == 404
    assert await json_of(response) == NO_REQUEST


async def test_send_mail_notification(
    client: Any, factory: Factory, settings: Settings, user: User
) -> None:
    assert read_outbox(settings.mail_dir) == []
    await request_change(client, factory, user, "new@example.com")
    assert len(read_outbox(settings.mail_dir)) == 1


async def test_send_change_email_notification_task(
    client: Any, factory: Factory, settings: Settings, user: User
) -> None:
    await request_change(client, factory, user, "new@example.com")
    (message,) = read_outbox(settings.mail_dir)
    change = await pending(factory, user)
    assert change is not None
    assert message["Subject"] == "Verify new email address."
    assert message["To"] == "new@example.com"
    link = f"https://frontend.example/user_email_change/{change.uuid.hex}/"
    text = plain_text(message)
    assert link in text
    assert "from old@example.com to new@example.com" in text
    assert confirmation_code(message) == change.uuid.hex
    # the code from the mail is what confirms the change
    response = await client.post(CONFIRM, json={"code": confirmation_code(message)})
    assert response.status == 200


async def test_a_new_request_replaces_the_previous_code(
    client: Any, factory: Factory, settings: Settings, user: User
) -> None:
    await request_change(client, factory, user, "first@example.com")
    await request_change(client, factory, user, "second@example.com")
    first, second = read_outbox(settings.mail_dir)
    response = await client.post(CONFIRM, json={"code": confirmation_code(first)})
    assert response.status == 404
    response = await client.post(CONFIRM, json={"code": confirmation_code(second)})
    assert response.status == 200
    stored = await reloaded(factory, user)
    assert stored is not None and stored.email == "second@example.com"


async def test_cancel_change_email(client: Any, factory: Factory, user: User) -> None:
    await request_change(client, factory, user, "new@example.com")
    path = detail_path(user, "cancel_change_email")
    headers = await factory.auth(user)
    response = await client.post(path, headers=headers)
    assert response.status == 200
    assert await json_of(response) == {
        "detail": "The change email request has been successfully deleted."
    }
    assert await pending(factory, user) is None
    response = await client.post(path, headers=headers)
    assert response.status == 200
    assert await json_of(response) == {"detail": "The change email request has not been found."}


async def test_change_email_is_refused_when_the_identity_provider_owns_the_email(
    aiohttp_client: Any, settings: Settings, factory: Factory, user: User
) -> None:
    client = await client_with(aiohttp_client, settings, local_idp_protected_fields=["email"])
    response = await request_change(client, factory, user, "new@example.com")
    assert response.status == 400
    assert await json_of(response) == {
        "detail": "The registration method does not allow direct email modification."
    }
