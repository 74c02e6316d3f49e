"""Changing a user's email address through a confirmation code (docs/writes.md#email-change).

A request stores the new address under a random code (one pending request per user). The
address changes only when someone presents the code, which the confirmation mail sends to the
*new* address. The functions here commit their own transaction; ``request_email_change``
returns the message, which ``gql_users.accounts.operations.change_email`` sends after the commit.
The callers' checks are the operations' too.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.errors import BadRequest, NotFound, ValidationFailed
from gql_users.accounts.user_input import identity_provider_fields
from gql_users.accounts.validation import INVALID_EMAIL, REQUIRED, coerce_string, parse_uuid
from gql_users.db.conflicts import dialect_insert
from gql_users.db.engine import execute_counting_rows
from gql_users.db.models import EmailChangeRequest, User, new_uuid, utcnow
from gql_users.events import Event, Kind, publish
from gql_users.mail import compose_message, is_valid_email
from gql_users.settings import Settings

EMAIL_NOT_CHANGEABLE = "The registration method does not allow direct email modification."
CODE_REQUIRED = "The confirmation code is required."
REQUEST_NOT_FOUND = "No ChangeEmailRequest matches the given query."
REQUEST_EXPIRED = "Request has expired."
SUBJECT = "Verify new email address."


def clean_email(value: Any) -> str:
    """The ``email`` field of a change request, as DRF's ``EmailField`` would validate it.

    Coerced as every other string field (numbers accepted, whitespace trimmed). A missing
    value and null are both "required": GraphQL cannot tell them apart, and Waldur clients
    send neither. The syntax check is the mail package's, which guarantees the address can
    head the confirmation mail.

    Raises:
        ValidationFailed: ``{"email": [message]}``.
    """
    if value is None:
        raise ValidationFailed({"email": [REQUIRED]})
    try:
        email = coerce_string(value, max_length=None, allow_blank=False)
    except ValueError as error:
        raise ValidationFailed({"email": [str(error)]}) from error
    if not is_valid_email(email):
        raise ValidationFailed({"email": [INVALID_EMAIL]})
    return email


def confirmation_link(settings: Settings, code_hex: str) -> str:
    return f"{settings.frontend_url}user_email_change/{code_hex}/"


def confirmation_message(
    settings: Settings, *, old_email: str, new_email: str, code_hex: str
) -> EmailMessage:
    """The mail of Waldur's ``structure/change_email_request`` template, to the new address."""
    link = confirmation_link(settings, code_hex)
    text = (
        f"To confirm the change of email address from {old_email} to {new_email}, "
        f"follow the {link}.\n"
    )
    markup = (
        f"<p>To confirm the change of email address from {html.escape(old_email)} to "
        f'{html.escape(new_email)}, follow the <a href="{html.escape(link)}">link</a>.</p>\n'
    )
    return compose_message(settings, to=new_email, subject=SUBJECT, text=text, html=markup)


async def request_email_change(
    session: AsyncSession,
    settings: Settings,
    target: User,
    email: Any,
    now: datetime | None = None,
) -> EmailMessage:
    """Replace the target's pending request with a new one (a new code) and commit.

    The address is not checked for uniqueness: Waldur accepts another user's address. The
    replacement is a single upsert on the one-request-per-user key, so two concurrent
    requests for the same user cannot collide; the last one wins, as with Waldur.

    Args:
        email: the raw ``email`` value of the request body.
        now: the creation time (tests pass it; defaults to the current time).

    Returns:
        The confirmation message, to send after this function returns (``send_quietly``).

    Raises:
        BadRequest: the target's identity provider owns the email field.
        ValidationFailed: ``{"email": [...]}``.
        NotFound: the target was deleted meanwhile.
    """
    if "email" in identity_provider_fields(target, settings):
        raise BadRequest(EMAIL_NOT_CHANGEABLE)
    new_email = clean_email(email)
    now = now or utcnow()
    code = new_uuid()
    # Composed before the commit: should it ever fail, no request exists without its mail.
    message = confirmation_message(
        settings, old_email=target.email, new_email=new_email, code_hex=code.hex
    )
    insert = dialect_insert(session)
    statement = insert(EmailChangeRequest).values(
        uuid=code, user_id=target.id, email=new_email, created=now, modified=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[EmailChangeRequest.user_id],
        set_={"uuid": code, "email": new_email, "created": now, "modified": now},
    )
    try:
        await session.execute(statement)
        await publish(session, Event(Kind.UPDATED, target.uuid))  # its requested_email
        await session.commit()
    except IntegrityError as error:  # the foreign key: the user no longer exists
        await session.rollback()
        raise NotFound() from error
    return message


async def cancel_email_change(session: AsyncSession, target: User) -> bool:
    """Delete the target's pending request, if any, and commit.

    Returns:
        True when a request was deleted (REST answers "successfully deleted"), False when
        there was none ("has not been found"); both are successes.
    """
    deleted = await execute_counting_rows(
        session, delete(EmailChangeRequest).where(EmailChangeRequest.user_id == target.id)
    )
    if deleted:
        await publish(session, Event(Kind.UPDATED, target.uuid))
    await session.commit()
    return bool(deleted)


async def confirm_email_change(
    session: AsyncSession, settings: Settings, code: Any, now: datetime | None = None
) -> None:
    """Apply the request that ``code`` names: no login needed, the code is the credential.

    In one transaction the user's email becomes the requested address and every pending
    request for that address (of any user) is deleted, so a second user who asked for the
    same address gets "not found" afterwards. An expired request is refused and kept, as
    Waldur does.

    The first statement deletes, in one go, every unexpired request for the address that the
    code names, and the code counts as used only if its own row came back. Two concurrent
    confirmations for one address therefore serialise on those rows and the loser finds
    nothing. Failures commit the (empty) transaction rather than roll back, which would
    expire every object the caller holds in the session.

    Args:
        code: the raw ``code`` value of the body: 32 hex digits or a hyphenated uuid.
        now: the time to compare the expiry with (tests pass it).

    Raises:
        ValidationFailed: ``["The confirmation code is required."]`` for a missing or
            malformed code, ``["Request has expired."]`` after ``settings.email_change_max_age``.
        NotFound: no request has that code.
    """
    code_uuid = parse_uuid(code)
    if code_uuid is None:
        raise ValidationFailed([CODE_REQUIRED])
    now = now or utcnow()
    oldest_valid = now - timedelta(seconds=settings.email_change_max_age)
    requested_address = (
        select(EmailChangeRequest.email)
        .where(EmailChangeRequest.uuid == code_uuid, EmailChangeRequest.created >= oldest_valid)
        .scalar_subquery()
    )
    deleted = await session.execute(
        delete(EmailChangeRequest)
        .where(EmailChangeRequest.email == requested_address)
        .returning(EmailChangeRequest.uuid, EmailChangeRequest.user_id, EmailChangeRequest.email)
    )
    deleted_rows = deleted.all()
    confirmed = next((row for row in deleted_rows if row.uuid == code_uuid), None)
    if confirmed is None:
        if deleted_rows:
            # A concurrent confirmation took our row between our snapshot and our delete, and
            # this statement removed requests made since: undo, whatever it costs the session.
            await session.rollback()
            raise NotFound(REQUEST_NOT_FOUND)
        created = await session.scalar(
            select(EmailChangeRequest.created).where(EmailChangeRequest.uuid == code_uuid)
        )
        await session.commit()
        if created is None:
            raise NotFound(REQUEST_NOT_FOUND)
        raise ValidationFailed([REQUEST_EXPIRED])
    user_uuid = await session.scalar(
        update(User)
        .where(User.id == confirmed.user_id)
        .values(email=confirmed.email)
        .returning(User.uuid)
    )
    if user_uuid is not None:
        await publish(session, Event(Kind.UPDATED, user_uuid))
    await session.commit()


async def requested_emails(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """The pending address of each given user that has one, in one statement (none if no ids).

    For rendering ``requested_email`` of a whole page without a query per user.
    """
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(EmailChangeRequest.user_id, EmailChangeRequest.email).where(
            EmailChangeRequest.user_id.in_(ids)
        )
    )
    return {user_id: email for user_id, email in rows.tuples()}
