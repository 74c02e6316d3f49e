"""``POST /api-auth/password/`` (login) and ``POST /api-auth/logout/``."""

from __future__ import annotations

from aiohttp import web

from gql_users.accounts import tokens
from gql_users.accounts.errors import AuthenticationFailed
from gql_users.accounts.login import login
from gql_users.http.addresses import client_address
from gql_users.http.authentication import require_caller
from gql_users.http.keys import SETTINGS, request_session
from gql_users.http.responses import json_response
from gql_users.rest.parsing import read_body


async def password_login(request: web.Request) -> web.Response:
    """A refused login is a 401 without ``WWW-Authenticate``, as Waldur's login view answers
    (docs/api-differences.md#failed-logins-carry-no-www-authenticate); a bad ``Authorization``
    header is refused before this, with the challenge, as everywhere."""
    body = (await read_body(request)).data
    try:
        token = await login(
            request_session(request),
            request.app[SETTINGS],
            body.get("username"),
            body.get("password"),
            client_address(request),
        )
    except AuthenticationFailed as refused:
        return json_response({"detail": refused.detail}, status=refused.status)
    return json_response({"token": token.key})


async def logout(request: web.Request) -> web.Response:
    caller = require_caller(request)
    await tokens.logout(request_session(request), caller)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api-auth/password/", password_login)
    app.router.add_post("/api-auth/logout/", logout)
