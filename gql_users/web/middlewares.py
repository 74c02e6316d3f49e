"""Middlewares: SQL statement counting, the database session, errors, authentication."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gql_users.accounts.callers import ANONYMOUS, Caller, ensure_authenticated
from gql_users.accounts.errors import AccountsError, NotAuthenticated, ValidationFailed
from gql_users.accounts.tokens import authenticate_token, impersonate, parse_authorization
from gql_users.db.engine import count_sql
from gql_users.web.keys import CALLER, SESSION, SESSIONMAKER, SETTINGS, SQL_COUNTER
from gql_users.web.responses import json_response

log = logging.getLogger("gql_users.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIXES = ("/health", "/playground", "/static", "/media")


def error_response(error: AccountsError) -> web.Response:
    """The DRF-shaped body for a core error."""
    if isinstance(error, ValidationFailed):
        return json_response(error.errors, status=error.status)
    headers = {"WWW-Authenticate": "Token"} if isinstance(error, NotAuthenticated) else None
    return json_response({"detail": error.detail}, status=error.status, headers=headers)


@web.middleware
async def sql_count_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With GQL_USERS_DEBUG_SQL=1, report the request's statement count in ``X-SQL-Count``."""
    if not request.app[SETTINGS].debug_sql:
        return await handler(request)
    with count_sql() as counter:
        request[SQL_COUNTER] = counter
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers["X-SQL-Count"] = str(counter.count)
            raise
    response.headers["X-SQL-Count"] = str(counter.count)
    return response


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
        return error_response(error)
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
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"detail": "Internal server error."}, status=500)


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
