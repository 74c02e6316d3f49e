"""``POST /api-auth/password/`` (login) and ``POST /api-auth/logout/``."""

from __future__ import annotations

from aiohttp import web

from gql_users.accounts import tokens
from gql_users.accounts.login import login
from gql_users.rest.parsing import read_body
from gql_users.web.keys import SETTINGS, request_session
from gql_users.web.middlewares import require_caller
from gql_users.web.responses import json_response


def client_address(request: web.Request) -> str:
    """The peer address the lockout is keyed on (the socket peer; proxies are not trusted)."""
    return request.remote or "unknown"


async def password_login(request: web.Request) -> web.Response:
    body = (await read_body(request)).data
    token = await login(
        request_session(request),
        request.app[SETTINGS],
        body.get("username"),
        body.get("password"),
        client_address(request),
    )
    return json_response({"token": token.key})


async def logout(request: web.Request) -> web.Response:
    caller = require_caller(request)
    await tokens.logout(request_session(request), caller)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api-auth/password/", password_login)
    app.router.add_post("/api-auth/logout/", logout)
