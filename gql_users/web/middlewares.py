"""Middlewares: the database session, errors; and the headers every response carries.
Authentication is ``gql_users.http.authentication``'s; SQL counting, request ids and the access
line are ``gql_users.web.observability``'s."""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from gql_users.accounts.errors import AccountsError, NotAuthenticated, ValidationFailed
from gql_users.db.faults import RETRY_AFTER_SECONDS, UNAVAILABLE, is_database_unavailable
from gql_users.http.authentication import Handler
from gql_users.http.keys import READ_SESSIONMAKER, SESSION, SESSIONMAKER
from gql_users.http.responses import GRAPHQL_PATH, graphql_error_response, json_response

log = logging.getLogger("gql_users.web")

# Responses that may carry a token or a user's private fields: never stored by a cache.
PRIVATE_PREFIXES = ("/api/", "/api-auth/", GRAPHQL_PATH)
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
REST_PREFIX = "/api/"
READ_METHODS = frozenset({"GET", "HEAD"})


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
    """One database session per request, closed (and rolled back if uncommitted) at the end;
    the REST API's reads get a read session (``create_read_sessionmaker``)."""
    reads = request.method in READ_METHODS and request.path.startswith(REST_PREFIX)
    async with request.app[READ_SESSIONMAKER if reads else SESSIONMAKER]() as session:
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
