"""eduTEAMS synchronisation: ``pull_remote_user`` (B §3.13; SSH keys are out of scope, A §11).

The remote calls go through :class:`EduteamsClient`, created once per app. It keeps its access
token in process memory: that token is a cache of something eduTEAMS hands out again on request,
not shared state, so several processes each holding their own copy is harmless.

Everything eduTEAMS answers is treated as untrusted input: bodies are size-limited, JSON is
checked for shape and every value for type, length and storability before it reaches the
database, so a misbehaving remote yields a 400 with a clear message, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from yarl import URL

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import (
    BadRequest,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from gql_users.accounts.slugs import generate_slug
from gql_users.accounts.tokens import create_token
from gql_users.db.models import User, utcnow
from gql_users.settings import Settings

logger = logging.getLogger(__name__)

EDUTEAMS = "eduteams"
NOT_MANAGED = "User is not managed by eduTEAMS."
SYNC_DISABLED = "Remote eduTEAMS account synchronization extension is disabled."
ACCESS_TOKEN_ERROR = "Unable to get access token from eduTEAMS."
USERINFO_JSON_ERROR = "Unable to parse JSON in user info response."

ACCESS_TOKEN_TTL = 30 * 60.0
"""Seconds an access token is reused (Waldur's cache TTL); shorter if eduTEAMS says so."""
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_USERNAME_LENGTH = 128
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 100
MAX_LIST_ITEMS = 100
MAX_LIST_ITEM_LENGTH = 255


class _RemoteFailure(Exception):
    """The remote could not be asked or answered unusably; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes


class EduteamsClient:
    """HTTP access to eduTEAMS: the access-token cache and the userinfo lookup.

    Create one per app and ``await close()`` it on shutdown. The ``aiohttp.ClientSession`` is
    opened on first use, inside the running event loop. ``clock`` is the monotonic time source
    of the token cache; tests pass their own to expire a token without waiting.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None
        self._access_token: str | None = None
        self._access_token_expires = 0.0
        # One token request at a time: tasks that miss the cache together share one fetch.
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            timeout = aiohttp.ClientTimeout(total=self._settings.eduteams_timeout)
            self._http = aiohttp.ClientSession(timeout=timeout)
        return self._http

    async def _request(self, method: str, url: str | URL, **kwargs: Any) -> _Reply:
        """One request, its body read up to MAX_RESPONSE_BYTES. Redirects are not followed, so a
        bearer token or client secret is never sent anywhere but the configured URLs.

        Raises:
            _RemoteFailure: network error, timeout, unusable URL or an oversized answer.
        """
        try:
            async with self._session().request(
                method, url, allow_redirects=False, **kwargs
            ) as response:
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body.extend(chunk)
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise _RemoteFailure("The answer of eduTEAMS is larger than 1 MiB.")
                return _Reply(response.status, bytes(body))
        except TimeoutError:
            seconds = self._settings.eduteams_timeout
            raise _RemoteFailure(f"eduTEAMS did not answer within {seconds:g} seconds.") from None
        except aiohttp.InvalidURL:
            raise _RemoteFailure("The configured eduTEAMS URL is not valid.") from None
        except (aiohttp.ClientConnectionError, OSError) as error:
            logger.warning("eduTEAMS is unreachable: %s", type(error).__name__)
            raise _RemoteFailure("eduTEAMS could not be reached.") from None
        except aiohttp.ClientError as error:
            logger.warning("eduTEAMS request failed: %s", type(error).__name__)
            raise _RemoteFailure("The request to eduTEAMS failed.") from None
        except ValueError:  # e.g. a client id that HTTP Basic cannot carry
            raise _RemoteFailure("The eduTEAMS URL or credentials are not usable.") from None

    def _cached_access_token(self) -> str | None:
        if self._access_token is not None and self._clock() < self._access_token_expires:
            return self._access_token
        return None

    def forget_access_token(self, rejected: str) -> None:
        """Drop the cached token, unless another task already replaced the ``rejected`` one."""
        if self._access_token == rejected:
            self._access_token = None

    async def access_token(self) -> str:
        """The cached access token, or a new one from the refresh-token grant.

        Raises:
            BadRequest: the token endpoint could not be used; the message says why.
        """
        cached = self._cached_access_token()
        if cached is not None:
            return cached
        async with self._token_lock:
            cached = self._cached_access_token()  # fetched by another task while we waited
            if cached is not None:
                return cached
            token, lifetime = await self._fetch_access_token()
            self._access_token = token
            self._access_token_expires = self._clock() + lifetime
            return token

    async def _fetch_access_token(self) -> tuple[str, float]:
        settings = self._settings
        if not settings.eduteams_refresh_token:
            raise BadRequest(
                f"{ACCESS_TOKEN_ERROR} No refresh token is configured "
                "(set GQL_USERS_EDUTEAMS_REFRESH_TOKEN)."
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": settings.eduteams_refresh_token,
            "scope": "openid",
        }
        try:
            auth = aiohttp.BasicAuth(settings.eduteams_client_id, settings.eduteams_secret)
            reply = await self._request("POST", settings.eduteams_token_url, data=form, auth=auth)
        except ValueError:  # BasicAuth refuses a client id containing ":"
            raise BadRequest(
                f"{ACCESS_TOKEN_ERROR} The client id cannot be sent with HTTP Basic."
            ) from None
        except _RemoteFailure as failure:
            raise BadRequest(f"{ACCESS_TOKEN_ERROR} {failure.reason}") from None
        if reply.status != 200:
            # The body is not shown: a token endpoint may echo what it was sent.
            logger.warning("eduTEAMS token endpoint answered HTTP %s", reply.status)
            raise BadRequest(
                f"{ACCESS_TOKEN_ERROR} The token endpoint answered HTTP {reply.status}."
            )
        payload = _parse_json(reply.body)
        if not isinstance(payload, dict):
            raise BadRequest(f"{ACCESS_TOKEN_ERROR} The answer is not a JSON object.")
        token = payload.get("access_token")
        if not isinstance(token, str) or not _is_header_safe(token):
            raise BadRequest(f"{ACCESS_TOKEN_ERROR} The answer has no usable access_token.")
        lifetime = ACCESS_TOKEN_TTL
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            lifetime = max(0.0, min(lifetime, float(expires_in)))
        return token, lifetime

    def userinfo_url(self, username: str) -> URL:
        """``<userinfo_url>/<username>``, the username quoted as one path segment; dots are
        escaped too, so that ``..`` cannot climb out of the userinfo path.

        Raises:
            ValueError: the configured userinfo URL cannot be parsed.
        """
        segment = quote(username, safe="")
        if segment in (".", ".."):
            segment = segment.replace(".", "%2E")
        base = str(URL(self._settings.eduteams_userinfo_url)).rstrip("/")
        return URL(f"{base}/{segment}", encoded=True)

    async def get_userinfo(self, username: str) -> dict[str, Any] | None:
        """The eduTEAMS profile of ``username``, or None when eduTEAMS does not know it (404).

        A 401 means the cached token was revoked or expired early: it is dropped and the call is
        retried once with a new token.

        Raises:
            BadRequest: no access token, any other failure, or a body that is not a JSON object.
        """
        try:
            url = self.userinfo_url(username)
        except ValueError:
            message = "Unable to get user info: the eduTEAMS userinfo URL is not valid."
            raise BadRequest(message) from None
        shown = str(url.with_user(None))  # never show credentials written into the URL
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                reply = await self._request(
                    "GET", url, headers={"Authorization": f"Bearer {token}"}
                )
            except _RemoteFailure as failure:
                logger.warning("eduTEAMS userinfo for %s failed: %s", username, failure.reason)
                raise BadRequest(f"Unable to get user info for {shown}") from None
            if reply.status != 401 or attempt == 2:
                break
            self.forget_access_token(token)
        if reply.status == 404:
            return None
        if reply.status != 200:
            logger.warning("eduTEAMS userinfo for %s answered HTTP %s", username, reply.status)
            raise BadRequest(f"Unable to get user info for {shown}")
        payload = _parse_json(reply.body)
        if not isinstance(payload, dict):
            raise BadRequest(USERINFO_JSON_ERROR)
        return payload


_NOT_JSON = object()


def _parse_json(body: bytes) -> Any:
    """The decoded body, or ``_NOT_JSON`` (deep nesting raises RecursionError, not ValueError)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _is_header_safe(token: str) -> bool:
    return bool(token) and token.isascii() and token.isprintable() and " " not in token


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


async def pull_remote_user(
    session: AsyncSession,
    settings: Settings,
    client: EduteamsClient,
    caller: Caller,
    target: User,
    *,
    now: datetime | None = None,
) -> None:
    """Synchronise ``target`` from eduTEAMS: deactivate it when eduTEAMS no longer knows it,
    otherwise create or update the user named by the answer's ``sub`` (B §3.13).

    The session is committed before the remote call (it holds only the reads that found the
    target), so no database connection sits idle in a transaction while eduTEAMS answers.

    Args:
        session: the request's session; committed at the end.
        settings: ``eduteams_enabled`` and the ``token_lifetime`` of created users.
        client: the app's eduTEAMS client.
        caller: staff, or the target user themselves.
        target: the local user whose username is looked up in eduTEAMS.
        now: the sync time (tests pin it).

    Raises:
        NotAuthenticated: anonymous caller.
        PermissionDenied: a non-staff caller on another user.
        ValidationFailed: the target is not an eduTEAMS user, or the sync is disabled.
        BadRequest: eduTEAMS could not be asked or answered unusably; nothing is written.
    """
    if not caller.is_authenticated:
        raise NotAuthenticated()
    if not (caller.is_staff or caller.is_self(target)):
        raise PermissionDenied()
    if EDUTEAMS not in (target.identity_source, target.registration_method):
        raise ValidationFailed([NOT_MANAGED])
    if not settings.eduteams_enabled:
        raise ValidationFailed([SYNC_DISABLED])

    username = target.username
    await session.commit()
    info = await client.get_userinfo(username)
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


async def _create_or_update(
    session: AsyncSession, settings: Settings, profile: RemoteProfile, now: datetime
) -> None:
    # Any user with the username, inactive ones included: usernames are unique across all
    # users (A §3), and a user eduTEAMS knows again is reactivated.
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
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
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
