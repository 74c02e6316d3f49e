"""Middlewares: the database session, errors, authentication; and
the headers every response carries."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from gql_users.accounts.callers import ANONYMOUS, Caller, ensure_authenticated
from gql_users.accounts.errors import AccountsError, NotAuthenticated, ValidationFailed
from gql_users.accounts.tokens import authenticate_token, impersonate, parse_authorization
from gql_users.db.faults import RETRY_AFTER_SECONDS, UNAVAILABLE, is_database_unavailable
from gql_users.web.keys import CALLER, SESSION, SESSIONMAKER, SETTINGS
from gql_users.web.responses import GRAPHQL_PATH, graphql_error_response, json_response

log = logging.getLogger("gql_users.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIXES = ("/health", "/metrics", "/playground", "/static", "/media")
# Responses that may carry a token or a user's private fields: never stored by a cache.
PRIVATE_PREFIXES = ("/api/", "/api-auth/", GRAPHQL_PATH)
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


def error_response(request: web.Request, error: AccountsError) -> web.Response:
    """A core error raised outside a resolver: DRF-shaped, or GraphQL-shaped on ``/graphql``
    (where only authentication refuses before the view runs)."""
    headers = {"WWW-Authenticate": "Token"} if isinstance(error, NotAuthenticated) else None
    if request.path == GRAPHQL_PATH:
        return graphql_error_response(request, error.detail, error.code, error.status, headers)
    if isinstance(error, ValidationFailed):
        return json_response(error.errors, status=error.status)
    return json_response({"detail": error.detail}, status=error.status, headers=headers)


def unavailable_response(request: web.Request) -> web.Response:
    """503 with ``Retry-After`` for a transient database fault
    (docs/hardening.md#database-faults)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path == GRAPHQL_PATH:
        return graphql_error_response(request, UNAVAILABLE, SERVICE_UNAVAILABLE, 503, headers)
    return json_response({"detail": UNAVAILABLE}, status=503, headers=headers)


async def hygiene_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers of every response, whichever part of the app (or
    aiohttp itself) made it (docs/hardening.md#http-headers)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.path.startswith(PRIVATE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One database session per request, closed (and rolled back if uncommitted) at the end."""
    async with request.app[SESSIONMAKER]() as session:
        request[SESSION] = session
        return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AccountsError as error:
        return error_response(request, error)
    except web.HTTPMethodNotAllowed as exc:
        return json_response(
            {"detail": f'Method "{request.method}" not allowed.'},
            status=405,
            headers={"Allow": ", ".join(sorted(exc.allowed_methods))},
        )
    except web.HTTPNotFound:
        return json_response({"detail": "Not found."}, status=404)
    except web.HTTPException:
        raise
    except Exception as error:
        if is_database_unavailable(error):
            log.warning(
                "database unavailable on %s %s: %s",
                request.method,
                request.path,
                type(error).__name__,
            )
            return unavailable_response(request)
        error_id = uuid.uuid4().hex
        log.exception("unhandled error %s on %s %s", error_id, request.method, request.path)
        return json_response({"detail": "Internal server error.", "error_id": error_id}, status=500)


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
