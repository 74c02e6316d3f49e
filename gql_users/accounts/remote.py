"""eduTEAMS synchronisation: ``sync_from_eduteams`` (docs/writes.md#eduteams-sync; SSH keys are out
of scope, docs/api-differences.md#eduteams-without-ssh-keys).

The HTTP side (access-token cache, userinfo lookup, size limits) is
``gql_users.eduteams.client``; this module only needs something with ``get_userinfo``
(:class:`UserinfoSource`), so the core holds no HTTP client. The client's
:class:`EduteamsUnavailable` becomes a ``BadRequest`` here, with the same message.

Everything eduTEAMS answers is treated as untrusted input: every value is checked for type,
length and storability before it reaches the database, so a misbehaving remote yields a 400
with a clear message, never a 500.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.errors import BadRequest, ValidationFailed
from gql_users.accounts.slugs import generate_slug
from gql_users.accounts.tokens import create_token
from gql_users.db.conflicts import dialect_insert
from gql_users.db.models import User, utcnow
from gql_users.eduteams import EduteamsUnavailable
from gql_users.events import Event, Kind, publish
from gql_users.settings import Settings

logger = logging.getLogger(__name__)

EDUTEAMS = "eduteams"
NOT_MANAGED = "User is not managed by eduTEAMS."
SYNC_DISABLED = "Remote eduTEAMS account synchronization extension is disabled."

MAX_USERNAME_LENGTH = 128
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 100
MAX_LIST_ITEMS = 100
MAX_LIST_ITEM_LENGTH = 255


class UserinfoSource(Protocol):
    """What the sync needs from eduTEAMS; the app passes its
    ``gql_users.eduteams.client.EduteamsClient``, so the core never imports aiohttp."""

    async def get_userinfo(self, username: str) -> dict[str, Any] | None:
        """The profile of ``username``, None when unknown; raises ``EduteamsUnavailable``."""


# --- the profile eduTEAMS returns -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteProfile:
    """The fields of a local user that an eduTEAMS userinfo answer determines."""

    username: str
    email: str
    first_name: str
    last_name: str
    assurance: list[str]
    affiliations: list[str]


def _invalid(claim: str) -> BadRequest:
    return BadRequest(f"eduTEAMS user info has an invalid {claim} value.")


def _is_storable(value: str) -> bool:
    """No control characters (PostgreSQL refuses NUL) and no lone surrogates (not UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(character) == "Cc" for character in value)


def _text(value: Any, claim: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _is_storable(value):
        raise _invalid(claim)
    return value.strip()


def _strings(value: Any, claim: str) -> list[str]:
    """A list of short strings; a single string counts as a list of one, absent as empty."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) > MAX_LIST_ITEMS:
        raise _invalid(claim)
    strings: list[str] = []
    for item in items:
        text = _text(item, claim) if isinstance(item, str) else None
        if text is None or len(text) > MAX_LIST_ITEM_LENGTH:
            raise _invalid(claim)
        if text:
            strings.append(text)
    return strings


def parse_userinfo(info: dict[str, Any]) -> RemoteProfile:
    """Read a userinfo answer the way Waldur does, refusing what cannot be stored.

    Absent claims count as empty: eduTEAMS is the authority for these users and OIDC omits
    claims that have no value. Names are cut to their column length; a username or an email
    that does not fit is refused, because a shortened one would name someone else.

    Raises:
        BadRequest: no username, or a claim of the wrong type or size.
    """
    username = ""
    for claim in ("sub", "voperson_id"):
        value = info.get(claim)
        if value:  # an empty sub falls back to voperson_id, as in Waldur
            username = _text(value, claim)
            if len(username) > MAX_USERNAME_LENGTH or any(c.isspace() for c in value):
                raise _invalid(claim)
            break
    if not username:
        raise BadRequest("eduTEAMS user info has neither a sub nor a voperson_id.")

    mail = info.get("mail")
    if isinstance(mail, list):
        mail = mail[0] if mail else None
    email = _text(mail, "mail") if mail else _text(info.get("email"), "email")
    if len(email) > MAX_EMAIL_LENGTH:
        raise _invalid("mail" if mail else "email")

    return RemoteProfile(
        username=username,
        email=email,
        first_name=_text(info.get("given_name"), "given_name")[:MAX_NAME_LENGTH],
        last_name=_text(info.get("family_name"), "family_name")[:MAX_NAME_LENGTH],
        assurance=_strings(info.get("eduperson_assurance"), "eduperson_assurance"),
        affiliations=_strings(
            info.get("voperson_external_affiliation"), "voperson_external_affiliation"
        ),
    )


# --- the service -------------------------------------------------------------------------------


async def sync_from_eduteams(
    session: AsyncSession,
    settings: Settings,
    client: UserinfoSource,
    target: User,
    *,
    now: datetime | None = None,
) -> None:
    """Synchronise ``target`` from eduTEAMS: deactivate it when eduTEAMS no longer knows it,
    otherwise create or update the user named by the answer's ``sub``
    (docs/writes.md#eduteams-sync).

    The session is committed before the remote call (it holds only the reads that found the
    target), so no database connection sits idle in a transaction while eduTEAMS answers.

    Args:
        session: the request's session; committed at the end.
        settings: ``eduteams_enabled`` and the ``token_lifetime`` of created users.
        client: the app's eduTEAMS client.
        target: the local user whose username is looked up in eduTEAMS.
        now: the sync time (tests pin it).

    Raises:
        ValidationFailed: the target is not an eduTEAMS user, or the sync is disabled.
        BadRequest: eduTEAMS could not be asked or answered unusably; nothing is written.
    """
    if EDUTEAMS not in (target.identity_source, target.registration_method):
        raise ValidationFailed([NOT_MANAGED])
    if not settings.eduteams_enabled:
        raise ValidationFailed([SYNC_DISABLED])

    username = target.username
    await session.commit()
    try:
        info = await client.get_userinfo(username)
    except EduteamsUnavailable as error:
        raise BadRequest(error.detail) from None
    now = now or utcnow()
    if info is None:
        await _deactivate(session, username, now)
    else:
        await _create_or_update(session, settings, parse_userinfo(info), now)
    await session.commit()


async def _deactivate(session: AsyncSession, username: str, now: datetime) -> None:
    user = await session.scalar(
        select(User).where(User.username == username, User.is_active.is_(True))
    )
    if user is not None:
        logger.info("eduTEAMS no longer knows %s: deactivated", username)
        user.is_active = False
        user.last_sync = now
        await publish(session, Event(Kind.DEACTIVATED, user.uuid))


async def _create_or_update(
    session: AsyncSession, settings: Settings, profile: RemoteProfile, now: datetime
) -> None:
    # Any user with the username, inactive ones included: usernames are unique across all
    # users (docs/api-differences.md#no-server-errors), and a user eduTEAMS knows again is
    # reactivated.
    user = await session.scalar(select(User).where(User.username == profile.username))
    created = False
    if user is None:
        user, created = await _insert_eduteams_user(session, settings, profile.username, now)
    user.email = profile.email
    user.first_name = profile.first_name
    user.last_name = profile.last_name
    user.details = {"eduperson_assurance": profile.assurance}
    user.affiliations = profile.affiliations
    user.is_active = True
    user.last_sync = now
    if created:
        await create_token(session, user, now)
    await publish(session, Event(Kind.CREATED if created else Kind.UPDATED, user.uuid))
    logger.info("eduTEAMS user %s synchronised (created: %s)", profile.username, created)


async def _insert_eduteams_user(
    session: AsyncSession, settings: Settings, username: str, now: datetime
) -> tuple[User, bool]:
    """Insert a new eduTEAMS user, or find the one a concurrent request inserted first; the
    flag says whether this call created it.

    ``ON CONFLICT DO NOTHING`` rather than a plain insert: two pulls of the same new user at
    once must both succeed, and recovering from an IntegrityError would roll back the caller's
    whole session.
    """
    insert = dialect_insert(session)
    statement = (
        insert(User)
        .values(
            username=username,
            slug=await generate_slug(session, username),
            registration_method=EDUTEAMS,
            identity_source=EDUTEAMS,
            notifications_enabled=False,
            password="",  # unusable: an empty hash never verifies
            token_lifetime=settings.token_lifetime,
            date_joined=now,
            last_sync=now,
        )
        .on_conflict_do_nothing(index_elements=[User.username])
        .returning(User.id)
    )
    new_id = await session.scalar(statement)
    user = await session.scalar(
        select(User).where(User.id == new_id if new_id is not None else User.username == username)
    )
    if user is None:  # inserted by another request and deleted again in between
        raise BadRequest("The eduTEAMS user changed during synchronisation. Please try again.")
    return user, new_id is not None
