"""The email change flow at the core level (docs/writes.md#email-change, scenarios 58 to 67).

Mail goes through the real file backend; codes are read back from the outbox ``.eml`` files.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.email_change import (
    cancel_email_change,
    confirm_email_change,
    request_email_change,
    requested_emails,
)
from gql_users.accounts.errors import (
    BadRequest,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.operations import already_read, cancel_change_email, change_email
from gql_users.db.engine import count_sql, create_sessionmaker
from gql_users.db.models import EmailChangeRequest, User, utcnow
from gql_users.mail import read_outbox
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.mail.helpers import confirmation_code, plain_text


async def request_and_send(
    session: AsyncSession, settings: Settings, caller: User, target: User, email: object
) -> str:
    """The whole operation, as both APIs call it (it mails the code); returns the mailed code."""
    await change_email(session, settings, Caller(user=caller), target.uuid, already_read(email))
    return confirmation_code(read_outbox(settings.mail_dir)[-1])


async def stored_email(session: AsyncSession, user: User) -> str | None:
    return await session.scalar(
        select(User.email).where(User.id == user.id).execution_options(populate_existing=True)
    )


async def pending(session: AsyncSession, user: User) -> EmailChangeRequest | None:
    return await session.scalar(
        select(EmailChangeRequest)
        .where(EmailChangeRequest.user_id == user.id)
        .execution_options(populate_existing=True)
    )


async def request_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(EmailChangeRequest)) or 0


# --- scenarios 58 to 67 ----------------------------------------------------------------------


async def test_change_email_request_is_created_if_it_does_not_exist_yet(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner", email="owner@example.com")

    await request_email_change(session, settings, owner, "new@example.com")

    assert await stored_email(session, owner) == "owner@example.com"
    change_request = await pending(session, owner)
    assert change_request is not None and change_request.email == "new@example.com"
    assert await requested_emails(session, [owner.id]) == {owner.id: "new@example.com"}


async def test_change_email_request_is_created_if_email_exists_already(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")
    other = await factory.user("other", email="taken@example.com")

    await request_email_change(session, settings, owner, other.email)

    assert (await pending(session, owner)) is not None


async def test_change_email_request_is_not_created_if_email_is_invalid(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")

    with pytest.raises(ValidationFailed) as raised:
        await request_email_change(session, settings, owner, "invalid_email")

    assert raised.value.errors == {"email": ["Enter a valid email address."]}
    assert await request_count(session) == 0
    assert read_outbox(settings.mail_dir) == []


async def test_when_change_email_request_is_confirmed_user_email_is_updated(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner", email="owner@example.com")
    code = await request_and_send(session, settings, owner, owner, "new@example.com")

    await confirm_email_change(session, settings, code)

    assert await stored_email(session, owner) == "new@example.com"
    assert await request_count(session) == 0


async def test_when_two_users_created_requests_with_equal_emails_then_first_confirmed_request_will_be_executed_second_will_be_deleted(  # noqa: E501
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    first = await factory.user("first")
    second = await factory.user("second")
    first_code = await request_and_send(session, settings, first, first, "same@example.com")
    second_code = await request_and_send(session, settings, second, second, "same@example.com")

    await confirm_email_change(session, settings, first_code)
    with pytest.raises(NotFound) as raised:
        await confirm_email_change(session, settings, second_code)

    assert raised.value.detail == "No ChangeEmailRequest matches the given query."
    assert await stored_email(session, first) == "same@example.com"
    assert await stored_email(session, second) == "second@example.com"


async def test_validate_email_change_max_age(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner", email="owner@example.com")
    created = utcnow() - timedelta(days=2)
    message = await request_email_change(session, settings, owner, "late@example.com", now=created)

    with pytest.raises(ValidationFailed) as raised:
        await confirm_email_change(session, settings, confirmation_code(message))

    assert raised.value.errors == ["Request has expired."]
    assert await stored_email(session, owner) == "owner@example.com"
    assert (await pending(session, owner)) is not None  # expired requests are kept


async def test_anonymous_user_can_confirm_email(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    """Confirmation takes no caller at all: the code is the credential."""
    owner = await factory.user("owner")
    code = await request_and_send(session, settings, owner, owner, "anon@example.com")

    await confirm_email_change(session, settings, code)

    assert await stored_email(session, owner) == "anon@example.com"


async def test_send_mail_notification(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")

    await request_and_send(session, settings, owner, owner, "new@example.com")

    assert len(read_outbox(settings.mail_dir)) == 1


async def test_send_change_email_notification_task(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner", email="owner@example.com")
    await request_and_send(session, settings, owner, owner, "new@example.com")
    change_request = await pending(session, owner)
    assert change_request is not None

    [message] = read_outbox(settings.mail_dir)

    link = f"https://frontend.example/user_email_change/{change_request.uuid.hex}/"
    assert message["Subject"] == "Verify new email address."
    assert message["To"] == "new@example.com"
    assert message["From"] == settings.mail_from
    assert plain_text(message) == (
        "To confirm the change of email address from owner@example.com to new@example.com, "
        f"follow the {link}.\n"
    )
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f'href="{link}"' in html.get_content()


async def test_cancel_change_email(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")
    await request_email_change(session, settings, owner, "new@example.com")

    assert await cancel_email_change(session, owner) is True

    assert await pending(session, owner) is None
    assert await cancel_email_change(session, owner) is False


# --- who may ask -------------------------------------------------------------------------------


async def test_staff_may_request_and_cancel_for_any_user(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    staff = await factory.user("staff", is_staff=True)
    target = await factory.user("target")

    await change_email(
        session, settings, Caller(user=staff), target.uuid, already_read("t@example.com")
    )
    assert await requested_emails(session, [target.id]) == {target.id: "t@example.com"}
    cancelled = await cancel_change_email(session, Caller(user=staff), target.uuid)
    assert cancelled.cancelled and cancelled.user.id == target.id


@pytest.mark.parametrize(("kind", "refusal"), [("user", NotFound), ("support", PermissionDenied)])
async def test_non_staff_may_not_request_or_cancel_for_another_user(
    session: AsyncSession,
    settings: Settings,
    factory: Factory,
    kind: str,
    refusal: type[Exception],
) -> None:
    """Support sees the target and is refused (403); a user does not see it (404)."""
    caller = Caller(user=await factory.user("caller", is_support=kind == "support"))
    target = await factory.user("target")
    await request_email_change(session, settings, target, "t@example.com")

    with pytest.raises(refusal):
        await change_email(session, settings, caller, target.uuid, already_read("x@example.com"))
    with pytest.raises(refusal):
        await cancel_change_email(session, caller, target.uuid)

    assert await requested_emails(session, [target.id]) == {target.id: "t@example.com"}


async def test_anonymous_callers_may_not_request_or_cancel(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    target = await factory.user("target")

    with pytest.raises(NotAuthenticated):
        await change_email(session, settings, ANONYMOUS, target.uuid, already_read("x@a.org"))
    with pytest.raises(NotAuthenticated):
        await cancel_change_email(session, ANONYMOUS, target.uuid)
    assert await request_count(session) == 0


async def test_email_protected_by_the_local_identity_provider_cannot_be_changed(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    protected = settings.model_copy(update={"local_idp_protected_fields": ["email"]})
    local_user = await factory.user("local")
    remote_user = await factory.user("remote", registration_method="eduteams")

    with pytest.raises(BadRequest) as raised:
        await request_email_change(session, protected, local_user, "x@example.com")
    await request_email_change(session, protected, remote_user, "y@example.com")

    assert raised.value.detail == (
        "The registration method does not allow direct email modification."
    )
    assert await requested_emails(session, [local_user.id, remote_user.id]) == {
        remote_user.id: "y@example.com"
    }


# --- input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "This field is required."),
        ("", "This field may not be blank."),
        ("   ", "This field may not be blank."),
        (True, "Not a valid string."),
        (["a@example.com"], "Not a valid string."),
        ({"email": "a@example.com"}, "Not a valid string."),
        (42, "Enter a valid email address."),
        ("a@b", "Enter a valid email address."),
        ("a" * 320 + "@example.com", "Enter a valid email address."),
    ],
)
async def test_bad_email_values_are_field_errors_and_create_nothing(
    session: AsyncSession, settings: Settings, factory: Factory, value: object, message: str
) -> None:
    owner = await factory.user("owner")

    with pytest.raises(ValidationFailed) as raised:
        await request_email_change(session, settings, owner, value)

    assert raised.value.errors == {"email": [message]}
    assert await request_count(session) == 0


async def test_surrounding_whitespace_is_trimmed(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")

    await request_email_change(session, settings, owner, "  a@example.com\n")

    assert await requested_emails(session, [owner.id]) == {owner.id: "a@example.com"}


async def test_a_new_request_replaces_the_previous_one_and_its_code(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")
    first_code = await request_and_send(session, settings, owner, owner, "one@example.com")
    second_code = await request_and_send(session, settings, owner, owner, "two@example.com")

    assert first_code != second_code
    assert await request_count(session) == 1
    with pytest.raises(NotFound):
        await confirm_email_change(session, settings, first_code)
    await confirm_email_change(session, settings, second_code)
    assert await stored_email(session, owner) == "two@example.com"


@pytest.mark.parametrize("code", [None, "", "   ", "not-a-uuid", "1234", 42, True, ["x"], {}])
async def test_a_missing_or_malformed_code_is_a_bare_list_error(
    session: AsyncSession, settings: Settings, code: object
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await confirm_email_change(session, settings, code)

    assert raised.value.errors == ["The confirmation code is required."]


async def test_a_well_formed_unknown_code_is_not_found(
    session: AsyncSession, settings: Settings
) -> None:
    with pytest.raises(NotFound) as raised:
        await confirm_email_change(session, settings, "0" * 32)
    assert raised.value.detail == "No ChangeEmailRequest matches the given query."


async def test_the_code_is_accepted_hyphenated_and_in_upper_case(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")
    code = await request_and_send(session, settings, owner, owner, "new@example.com")
    hyphenated = f"{code[:8]}-{code[8:12]}-{code[12:16]}-{code[16:20]}-{code[20:]}".upper()

    await confirm_email_change(session, settings, hyphenated)

    assert await stored_email(session, owner) == "new@example.com"


async def test_a_request_confirms_until_its_max_age_has_passed(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    owner = await factory.user("owner")
    created = utcnow()
    message = await request_email_change(session, settings, owner, "new@example.com", now=created)
    code = confirmation_code(message)
    max_age = timedelta(seconds=settings.email_change_max_age)

    with pytest.raises(ValidationFailed):
        await confirm_email_change(session, settings, code, now=created + max_age + timedelta(1))
    await confirm_email_change(session, settings, code, now=created + max_age)

    assert await stored_email(session, owner) == "new@example.com"


async def test_confirming_does_not_check_uniqueness_and_touches_only_requests_for_that_address(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    holder = await factory.user("holder", email="taken@example.com")
    owner = await factory.user("owner")
    bystander = await factory.user("bystander")
    code = await request_and_send(session, settings, owner, owner, "taken@example.com")
    await request_email_change(session, settings, bystander, "elsewhere@example.com")

    await confirm_email_change(session, settings, code)

    assert await stored_email(session, owner) == "taken@example.com"
    assert await stored_email(session, holder) == "taken@example.com"
    assert await requested_emails(session, [owner.id, bystander.id]) == {
        bystander.id: "elsewhere@example.com"
    }


async def test_requested_emails_of_a_page_cost_one_statement(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    users = [await factory.user(f"page{n}") for n in range(6)]
    for user in users[::2]:
        await request_email_change(session, settings, user, f"new-{user.username}@example.com")

    with count_sql() as counter:
        found = await requested_emails(session, [user.id for user in users])
    with count_sql() as empty_counter:
        assert await requested_emails(session, []) == {}

    assert found == {user.id: f"new-{user.username}@example.com" for user in users[::2]}
    assert counter.count == 1
    assert empty_counter.count == 0


async def test_a_deleted_target_is_not_found(
    session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    ghost = User(id=987654, username="ghost", email="ghost@example.com")

    with pytest.raises(NotFound):
        await request_email_change(session, settings, ghost, "g@example.com")
    assert await request_count(session) == 0


async def test_concurrent_confirmations_for_one_address_let_exactly_one_win(
    engine: AsyncEngine, session: AsyncSession, settings: Settings, factory: Factory
) -> None:
    """Two users' codes for the same address, confirmed at once on two connections."""
    first = await factory.user("first")
    second = await factory.user("second")
    codes = [
        confirmation_code(await request_email_change(session, settings, user, "x@example.com"))
        for user in (first, second)
    ]
    sessions = create_sessionmaker(engine)

    async def confirm(code: str) -> str:
        async with sessions() as own_session:
            try:
                await confirm_email_change(own_session, settings, code)
            except NotFound:
                return "not found"
            return "confirmed"

    outcomes = await asyncio.gather(*(confirm(code) for code in codes))

    assert sorted(outcomes) == ["confirmed", "not found"]
    emails = [await stored_email(session, user) for user in (first, second)]
    assert emails.count("x@example.com") == 1
    assert await request_count(session) == 0
