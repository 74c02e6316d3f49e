"""The eduTEAMS HTTP client: the access-token cache and the userinfo lookup.

:class:`EduteamsClient` is created once per app. It keeps its access token in process memory:
that token is a cache of something eduTEAMS hands out again on request, not shared state, so
several processes each holding their own copy is harmless.

Everything eduTEAMS answers is untrusted: bodies are size-limited and JSON is checked for shape
here; the values inside a userinfo answer are checked by the sync service that stores them
(``gql_users.accounts.remote``). Every failure is an :class:`EduteamsUnavailable` whose
``detail`` is safe to show to the caller.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from gql_users.eduteams.errors import EduteamsUnavailable
from gql_users.settings import Settings

logger = logging.getLogger(__name__)

ACCESS_TOKEN_ERROR = "Unable to get access token from eduTEAMS."
USERINFO_JSON_ERROR = "Unable to parse JSON in user info response."

ACCESS_TOKEN_TTL = 30 * 60.0
"""Seconds an access token is reused (Waldur's cache TTL); shorter if eduTEAMS says so."""
MAX_RESPONSE_BYTES = 1024 * 1024


class _RemoteFailure(Exception):
    """One request failed (network, timeout, URL, size); ``reason`` is safe to show. Internal:
    the caller wraps it in an :class:`EduteamsUnavailable` that says which call failed."""

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
            EduteamsUnavailable: the token endpoint could not be used; the message says why.
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
            raise EduteamsUnavailable(
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
            raise EduteamsUnavailable(
                f"{ACCESS_TOKEN_ERROR} The client id cannot be sent with HTTP Basic."
            ) from None
        except _RemoteFailure as failure:
            raise EduteamsUnavailable(f"{ACCESS_TOKEN_ERROR} {failure.reason}") from None
        if reply.status != 200:
            # The body is not shown: a token endpoint may echo what it was sent.
            logger.warning("eduTEAMS token endpoint answered HTTP %s", reply.status)
            raise EduteamsUnavailable(
                f"{ACCESS_TOKEN_ERROR} The token endpoint answered HTTP {reply.status}."
            )
        payload = _parse_json(reply.body)
        if not isinstance(payload, dict):
            raise EduteamsUnavailable(f"{ACCESS_TOKEN_ERROR} The answer is not a JSON object.")
        token = payload.get("access_token")
        if not isinstance(token, str) or not _is_header_safe(token):
            raise EduteamsUnavailable(
                f"{ACCESS_TOKEN_ERROR} The answer has no usable access_token."
            )
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
            EduteamsUnavailable: no access token, any other failure, or a body that is not a
                JSON object.
        """
        try:
            url = self.userinfo_url(username)
        except ValueError:
            message = "Unable to get user info: the eduTEAMS userinfo URL is not valid."
            raise EduteamsUnavailable(message) from None
        shown = str(url.with_user(None))  # never show credentials written into the URL
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                reply = await self._request(
                    "GET", url, headers={"Authorization": f"Bearer {token}"}
                )
            except _RemoteFailure as failure:
                logger.warning("eduTEAMS userinfo for %s failed: %s", username, failure.reason)
                raise EduteamsUnavailable(f"Unable to get user info for {shown}") from None
            if reply.status != 401 or attempt == 2:
                break
            self.forget_access_token(token)
        if reply.status == 404:
            return None
        if reply.status != 200:
            logger.warning("eduTEAMS userinfo for %s answered HTTP %s", username, reply.status)
            raise EduteamsUnavailable(f"Unable to get user info for {shown}")
        payload = _parse_json(reply.body)
        if not isinstance(payload, dict):
            raise EduteamsUnavailable(USERINFO_JSON_ERROR)
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
