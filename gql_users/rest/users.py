"""The Waldur users API (``/api/users/...``): parse, call the accounts core, render.

Each write is one call of ``gql_users.accounts.operations``, which checks in Waldur's order
(authentication, the checks made before the lookup, the lookup, the checks after it) and
reads the body through the reader it is given only once those have passed. GraphQL calls the
same operations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from aiohttp import web

from gql_users.accounts import operations
from gql_users.accounts.errors import ListingRefused
from gql_users.accounts.filters import UserFilter
from gql_users.accounts.listing import count_users, get_visible_user, list_users_page
from gql_users.accounts.operations import UserChanges
from gql_users.accounts.shaping import readable_fields, select_fields
from gql_users.accounts.user_details import load_user_details, load_user_details_by_id
from gql_users.accounts.user_fields import user_url
from gql_users.db.models import User
from gql_users.http.addresses import client_address
from gql_users.http.authentication import require_caller
from gql_users.http.keys import EDUTEAMS, SETTINGS, request_caller, request_session
from gql_users.http.responses import JSON, json_response
from gql_users.rest.links import link_header
from gql_users.rest.parsing import query_lists, read_body, requested_fields
from gql_users.rest.query import (
    ordering_from_query,
    page_request_from_query,
    user_filter_from_query,
)
from gql_users.rest.representation import render_token, render_user, render_users

USER = "/api/users/{uuid}/"
IP_ADDRESS = "ip_address"
"""The field only ``me`` has: the caller's address."""


def _last(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


async def _render(request: web.Request, user: User, fields: Sequence[str]) -> dict[str, Any]:
    session = request_session(request)
    details = await load_user_details(session, [user])
    return render_user(
        request.app[SETTINGS], request_caller(request), user, details[user.id], fields
    )


async def _render_one(
    request: web.Request,
    user: User,
    fields: Sequence[str],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = await _render(request, user, fields)
    return json_response(body, status=status, headers=headers)


def _uuid(request: web.Request) -> str:
    return request.match_info["uuid"]


def _query_filter(request: web.Request) -> UserFilter:
    """Waldur applies the list filters to retrieve, update and delete too
    (docs/visibility.md#query-filters-on-detail-routes)."""
    return user_filter_from_query(query_lists(request.query))


async def list_or_count(request: web.Request) -> web.Response:
    """GET, and HEAD: the GET's status (a page out of range is 404), ``Content-Type``,
    ``X-Result-Count`` and ``Link``, from the count alone, without a body
    (docs/api-differences.md#head-answers-as-get-does)."""
    caller = require_caller(request)
    session = request_session(request)
    query = query_lists(request.query)
    head = request.method == "HEAD"
    try:
        user_filter = user_filter_from_query(query)
        ordering = ordering_from_query(query.get("o", []))
        page_request = page_request_from_query(_last(query, "page"), _last(query, "page_size"))
        if head:
            page = page_request.resolve(await count_users(session, caller, user_filter))
        else:
            page_users, page = await list_users_page(
                session, caller, user_filter, ordering, page_request
            )
    except ListingRefused as refused:
        return json_response(refused.detail, status=403)  # Waldur's bare string body
    settings = request.app[SETTINGS]
    headers = {
        "X-Result-Count": str(page.total),
        "Link": link_header(settings, request, page),
    }
    if head:
        return web.Response(content_type=JSON, headers=headers)
    details = await load_user_details_by_id(session, [user.id for user in page_users])
    fields = requested_fields(query)
    body = render_users(
        settings, caller, page_users, details, fields, len(page_users), wire_rows=True
    )
    return json_response(body, headers=headers)


async def _read_changes(request: web.Request) -> UserChanges:
    body = await read_body(request)
    return UserChanges(body.data, body.image)


def _body_field(request: web.Request, name: str) -> operations.InputReader[Any]:
    """Reads one field of the body (None when absent), when the operation asks for it."""

    async def read() -> Any:
        return (await read_body(request)).data.get(name)

    return read


async def create(request: web.Request) -> web.Response:
    fields = requested_fields(query_lists(request.query))
    user = await operations.create_user(
        request_session(request),
        request.app[SETTINGS],
        request_caller(request),
        partial(_read_changes, request),
        accepted_fields=fields,
    )
    location = user_url(request.app[SETTINGS], user)
    return await _render_one(request, user, fields, status=201, headers={"Location": location})


async def retrieve(request: web.Request) -> web.Response:
    caller = require_caller(request)
    user = await get_visible_user(
        request_session(request), caller, _uuid(request), _query_filter(request)
    )
    return await _render_one(request, user, requested_fields(query_lists(request.query)))


async def update(request: web.Request) -> web.Response:
    fields = requested_fields(query_lists(request.query))
    user = await operations.update_user(
        request_session(request),
        request.app[SETTINGS],
        request_caller(request),
        _uuid(request),
        partial(_read_changes, request),
        accepted_fields=fields,
        user_filter=_query_filter(request),
    )
    return await _render_one(request, user, fields)


async def destroy(request: web.Request) -> web.Response:
    await operations.delete_user(
        request_session(request),
        request.app[SETTINGS],
        request_caller(request),
        _uuid(request),
        user_filter=_query_filter(request),
    )
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    """The caller, with one more field after the user's: ``ip_address``, which ``field``
    selects like the others (docs/api-differences.md#ip-address-on-me-only). HEAD is the GET
    without its body."""
    caller = require_caller(request)
    assert caller.user is not None  # require_caller guarantees it
    readable = (*readable_fields(caller, caller.user), IP_ADDRESS)
    chosen = select_fields(readable, requested_fields(query_lists(request.query)))
    user_fields = [name for name in chosen if name != IP_ADDRESS]
    body = await _render(request, caller.user, user_fields) if user_fields else {}
    if IP_ADDRESS in chosen:
        body[IP_ADDRESS] = client_address(request)
    return json_response(body, headers={"X-Result-Count": "1"})


async def token(request: web.Request) -> web.Response:
    info = await operations.read_token(
        request_session(request), request_caller(request), _uuid(request)
    )
    return json_response(render_token(info))


async def refresh_token(request: web.Request) -> web.Response:
    info = await operations.refresh_token(
        request_session(request), request_caller(request), _uuid(request)
    )
    return json_response(render_token(info))


async def change_email(request: web.Request) -> web.Response:
    await operations.change_email(
        request_session(request),
        request.app[SETTINGS],
        request_caller(request),
        _uuid(request),
        _body_field(request, "email"),
    )
    return json_response({"detail": "The change email request has been successfully created."})


async def cancel_change_email(request: web.Request) -> web.Response:
    outcome = await operations.cancel_change_email(
        request_session(request), request_caller(request), _uuid(request)
    )
    if outcome.cancelled:
        return json_response({"detail": "The change email request has been successfully deleted."})
    return json_response({"detail": "The change email request has not been found."})


async def confirm_email(request: web.Request) -> web.Response:
    body = await read_body(request)
    await operations.confirm_email(
        request_session(request), request.app[SETTINGS], body.data.get("code")
    )
    return json_response({"detail": "Email has been successfully updated."})


async def change_password(request: web.Request) -> web.Response:
    await operations.change_password(
        request_session(request),
        request.app[SETTINGS],
        request_caller(request),
        _uuid(request),
        _body_field(request, "new_password"),
    )
    return json_response({"status": "password set"})


async def pull_remote_user(request: web.Request) -> web.Response:
    await operations.pull_remote_user(
        request_session(request),
        request.app[SETTINGS],
        request.app[EDUTEAMS],
        request_caller(request),
        _uuid(request),
    )
    return web.Response(status=200)


def _only(*methods: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A catch-all for a list-level route: any other method is 405.

    Waldur's router tries ``users/me/`` and ``users/confirm_email/`` before ``users/{uuid}/``,
    so ``DELETE /api/users/me/`` is "method not allowed", not a lookup of a user called "me".
    aiohttp would otherwise fall through to the detail route and answer 404.
    """

    async def method_not_allowed(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, methods)

    return method_not_allowed


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/users/", list_or_count)
    router.add_post("/api/users/", create)
    router.add_get("/api/users/me/", me)
    router.add_route("*", "/api/users/me/", _only("GET", "HEAD"))
    router.add_post("/api/users/confirm_email/", confirm_email)
    router.add_route("*", "/api/users/confirm_email/", _only("POST"))
    router.add_get(USER, retrieve)
    router.add_put(USER, update)
    router.add_patch(USER, update)
    router.add_delete(USER, destroy)
    router.add_get(USER + "token/", token)
    router.add_post(USER + "refresh_token/", refresh_token)
    router.add_post(USER + "change_email/", change_email)
    router.add_post(USER + "cancel_change_email/", cancel_change_email)
    router.add_post(USER + "change_password/", change_password)
    router.add_post(USER + "pull_remote_user/", pull_remote_user)
