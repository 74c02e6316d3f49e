"""What the generated client is refused, and how (docs/visibility.md#order-of-refusals,
docs/visibility.md#permission-matrix, docs/writes.md#writable-fields).

Every refusal reaches the client as ``UnexpectedStatus`` with the documented status and a
DRF-shaped JSON body; silently ignored writes answer 200 and change nothing.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from waldur_api_client.api.users import (
    users_cancel_change_email,
    users_change_email,
    users_change_password,
    users_count,
    users_create,
    users_destroy,
    users_list,
    users_me_retrieve,
    users_partial_update,
    users_pull_remote_user,
    users_refresh_token,
    users_retrieve,
    users_token_retrieve,
    users_update,
)
from waldur_api_client.errors import UnexpectedStatus
from waldur_api_client.models import (
    PasswordChangeRequest,
    PatchedUserRequest,
    PatchedUserRequestMultipart,
    UserEmailChangeRequest,
    UserRequest,
)
from waldur_api_client.types import File

from tests.conftest import Factory
from tests.rest.client_support import error_of, stored_user, tiny_png

DENIED = {"detail": "You do not have permission to perform this action."}
NOT_FOUND = {"detail": "No User matches the given query."}
NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}


async def refused(call: Awaitable[Any]) -> tuple[int, Any]:
    with pytest.raises(UnexpectedStatus) as raised:
        await call
    return raised.value.status_code, error_of(raised.value)


async def test_a_normal_user_cannot_create_delete_or_set_passwords(
    api: Any, factory: Factory, session: Any
) -> None:
    user = await factory.user("plain")
    client = api(await factory.token(user))
    assert await refused(
        users_create.asyncio(client=client, body=UserRequest(username="x", email="x@example.com"))
    ) == (403, DENIED)
    assert await refused(users_destroy.asyncio_detailed(uuid=user.uuid, client=client)) == (
        403, DENIED,
    )  # fmt: skip
    # Refused before the lookup: an unknown uuid is 403 too (docs/writes.md#delete).
    assert await refused(users_destroy.asyncio_detailed(uuid=uuid.uuid4(), client=client)) == (
        403, DENIED,
    )  # fmt: skip
    assert await refused(
        users_change_password.asyncio_detailed(
            uuid=user.uuid, client=client, body=PasswordChangeRequest(new_password="long-enough-1")
        )
    ) == (403, DENIED)
    assert await refused(users_refresh_token.asyncio(uuid=user.uuid, client=client)) == (
        403, DENIED,
    )  # fmt: skip
    assert await stored_user(session, user.uuid) is not None


async def test_a_normal_user_setting_privileged_fields_on_themselves_gets_200_and_no_change(
    api: Any, factory: Factory, session: Any
) -> None:
    user = await factory.user("climber")
    client = api(await factory.token(user))
    patched = await users_partial_update.asyncio(
        uuid=user.uuid,
        client=client,
        body=PatchedUserRequest(
            is_staff=True, is_support=True, description="root", job_title="Climber"
        ),
    )
    assert patched.job_title == "Climber"
    assert "is_staff" not in patched.to_dict() and "description" not in patched.to_dict()
    stored = await stored_user(session, user.uuid)
    assert stored is not None
    assert (stored.is_staff, stored.is_support, stored.description) == (False, False, "")
    # Still a normal user: creating is refused as before.
    assert (
        await refused(
            users_create.asyncio(client=client, body=UserRequest(username="y", email="y@x.org"))
        )
    )[0] == 403


async def test_support_may_not_read_tokens_or_write_others(api: Any, factory: Factory) -> None:
    support = await factory.user("helpdesk", is_support=True)
    other = await factory.user("other")
    client = api(await factory.token(support))
    # Support sees everyone (docs/visibility.md#visible-users) but token reading is staff only,
    # before the lookup (docs/writes.md#reading-a-token).
    assert (await users_retrieve.asyncio(uuid=other.uuid, client=client)).username == "other"
    assert await refused(users_token_retrieve.asyncio(uuid=other.uuid, client=client)) == (
        403, DENIED,
    )  # fmt: skip
    assert await refused(users_token_retrieve.asyncio(uuid=uuid.uuid4(), client=client)) == (
        403, DENIED,
    )  # fmt: skip
    png = File(payload=io.BytesIO(tiny_png()), file_name="x.png", mime_type="image/png")
    assert await refused(
        users_partial_update.asyncio(
            uuid=other.uuid, client=client, body=PatchedUserRequestMultipart(image=png)
        )
    ) == (403, DENIED)


async def test_a_user_cannot_touch_colleagues_and_cannot_see_strangers(
    api: Any, factory: Factory
) -> None:
    customer = await factory.customer()
    user = await factory.user("user")
    colleague = await factory.user("colleague")
    stranger = await factory.user("stranger")
    staff = await factory.user("staff", is_staff=True)
    for member in (user, colleague):
        await factory.grant(member, "CUSTOMER.OWNER", customer)
    client = api(await factory.token(user))

    visible = await users_list.asyncio(client=client)
    assert [member.username for member in visible] == ["colleague", "user"]
    body = UserRequest(username="colleague", email="c@example.com", job_title="Hijacked")
    assert await refused(users_update.asyncio(uuid=colleague.uuid, client=client, body=body)) == (
        403, DENIED,
    )  # fmt: skip
    assert await refused(
        users_change_email.asyncio_detailed(
            uuid=colleague.uuid, client=client, body=UserEmailChangeRequest(email="c@evil.org")
        )
    ) == (403, DENIED)
    assert await refused(
        users_cancel_change_email.asyncio_detailed(uuid=colleague.uuid, client=client)
    ) == (403, DENIED)
    # staff are never visible to normal users
    # (docs/visibility.md#staff-are-hidden-from-non-staff-callers)
    for hidden in (stranger, staff):
        assert await refused(users_retrieve.asyncio(uuid=hidden.uuid, client=client)) == (
            404, NOT_FOUND,
        )  # fmt: skip
        assert await refused(
            users_partial_update.asyncio(
                uuid=hidden.uuid, client=client, body=PatchedUserRequest(job_title="x")
            )
        ) == (404, NOT_FOUND)


AnonymousCall = Callable[[Any, uuid.UUID], Awaitable[Any]]
ANONYMOUS_CALLS: dict[str, AnonymousCall] = {
    "list": lambda client, _id: users_list.asyncio(client=client),
    "count": lambda client, _id: users_count.asyncio(client=client),
    "me": lambda client, _id: users_me_retrieve.asyncio(client=client),
    "retrieve": lambda client, target: users_retrieve.asyncio(uuid=target, client=client),
    "create": lambda client, _id: users_create.asyncio(
        client=client, body=UserRequest(username="anon", email="anon@example.com")
    ),
    "patch": lambda client, target: users_partial_update.asyncio(
        uuid=target, client=client, body=PatchedUserRequest(job_title="x")
    ),
    "delete": lambda client, target: users_destroy.asyncio_detailed(uuid=target, client=client),
    "token": lambda client, target: users_token_retrieve.asyncio(uuid=target, client=client),
    "refresh_token": lambda client, target: users_refresh_token.asyncio(uuid=target, client=client),
    "change_email": lambda client, target: users_change_email.asyncio_detailed(
        uuid=target, client=client, body=UserEmailChangeRequest(email="a@example.com")
    ),
    "change_password": lambda client, target: users_change_password.asyncio_detailed(
        uuid=target, client=client, body=PasswordChangeRequest(new_password="long-enough-1")
    ),
    "pull_remote_user": lambda client, target: users_pull_remote_user.asyncio_detailed(
        uuid=target, client=client
    ),
}


@pytest.mark.parametrize("operation", list(ANONYMOUS_CALLS))
async def test_anonymous_callers_get_401(api: Any, factory: Factory, operation: str) -> None:
    target = await factory.user("target")
    with pytest.raises(UnexpectedStatus) as raised:
        await ANONYMOUS_CALLS[operation](api(), target.uuid)
    assert raised.value.status_code == 401
    if operation != "count":  # HEAD: no body
        assert error_of(raised.value) == NO_CREDENTIALS


async def test_pull_remote_user_with_sync_disabled_is_a_400(api: Any, factory: Factory) -> None:
    """The default settings have eduTEAMS sync off (docs/writes.md#eduteams-sync)."""
    user = await factory.user("remote", registration_method="eduteams")
    assert await refused(
        users_pull_remote_user.asyncio_detailed(
            uuid=user.uuid, client=api(await factory.token(user))
        )
    ) == (400, ["Remote eduTEAMS account synchronization extension is disabled."])
