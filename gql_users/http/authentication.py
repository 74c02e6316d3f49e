"""Authentication: ``Authorization: Token <key>`` (and impersonation) resolved into the request's
caller by a middleware, and ``require_caller`` for routes that need someone logged in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gql_users.accounts.callers import ANONYMOUS, Caller, ensure_authenticated
from gql_users.accounts.tokens import authenticate_token, impersonate, parse_authorization
from gql_users.http.keys import CALLER, SESSION, SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIXES = ("/health", "/metrics", "/playground", "/static", "/media")
"""Paths served to anyone: a token sent to them is not even looked at."""


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve ``Authorization: Token <key>`` (and impersonation) into ``request[CALLER]``.

    No header means an anonymous caller; each route decides whether that is enough. A header
    that names the Token scheme but does not authenticate is refused here, on every route.
    """
    if request.path.startswith(PUBLIC_PREFIXES):
        request[CALLER] = ANONYMOUS
        return await handler(request)
    key = parse_authorization(request.headers.get("Authorization"))
    if key is None:
        request[CALLER] = ANONYMOUS
        return await handler(request)
    settings = request.app[SETTINGS]
    session = request[SESSION]
    user, token = await authenticate_token(session, key, debounce=settings.token_refresh_debounce)
    caller = await impersonate(
        session, Caller(user=user, token=token), request.headers.get("X-Impersonated-User-Uuid")
    )
    request[CALLER] = caller
    response = await handler(request)
    if caller.impersonator is not None:
        response.headers["X-impersonator-uuid"] = caller.impersonator.uuid.hex
    return response


def require_caller(request: web.Request) -> Caller:
    """The authenticated caller of the request.

    Raises:
        NotAuthenticated: no credentials were given (401 with ``WWW-Authenticate: Token``).
    """
    caller = request[CALLER]
    ensure_authenticated(caller)
    return caller
