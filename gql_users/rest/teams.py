"""The team actions that customers and projects share (docs/rest.md#customers-and-projects):
``add_user``, ``update_user``, ``delete_user`` (POST) and ``list_users`` (GET, and HEAD for the
count). Each is one call of ``gql_users.accounts.role_grants``; this module parses the request
and renders the answer in Waldur's shapes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from gql_users.accounts import role_grants
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.images import image_url
from gql_users.accounts.organisations import ScopeType
from gql_users.accounts.role_grants import GrantFilter, ScopeGrant, ScopeRef
from gql_users.accounts.shaping import select_fields
from gql_users.accounts.validation import NULL_CHARACTERS, parse_uuid
from gql_users.accounts.wire import render_datetime, render_optional_datetime, render_uuid
from gql_users.http.authentication import require_caller
from gql_users.http.keys import SETTINGS, request_caller, request_session
from gql_users.http.responses import JSON, json_response
from gql_users.rest.links import page_headers
from gql_users.rest.parsing import body_fields, query_lists, requested_fields
from gql_users.rest.query import INVALID_UUID, page_request_from_query
from gql_users.settings import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TEAM_FIELDS = (
    "uuid",
    "created",
    "expiration_time",
    "role_name",
    "role_uuid",
    "user_email",
    "user_full_name",
    "user_username",
    "user_uuid",
    "user_image",
    "created_by_full_name",
    "created_by_uuid",
)
"""Waldur's ``UserRoleDetails``, in its order."""


def render_grant(settings: Settings, grant: ScopeGrant, fields: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "uuid": render_uuid(grant.uuid),
        "created": render_datetime(grant.created),
        "expiration_time": render_optional_datetime(grant.expiration_time),
        "role_name": grant.role_name,
        "role_uuid": render_uuid(grant.role_uuid),
        "user_email": grant.user_email,
        "user_full_name": grant.user_full_name,
        "user_username": grant.user_username,
        "user_uuid": render_uuid(grant.user_uuid),
        "user_image": image_url(settings, grant.user_image),
        "created_by_full_name": grant.created_by_full_name,
        "created_by_uuid": (
            None if grant.created_by_uuid is None else render_uuid(grant.created_by_uuid)
        ),
    }
    return {name: values[name] for name in fields}


def _last(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def grant_filter_from_query(query: Mapping[str, list[str]]) -> GrantFilter:
    """``user`` (a uuid; the last one counts), ``role`` (names or uuids, repeatable) and
    ``search_string``.

    Raises:
        ValidationFailed: ``{"user": ["Must be a valid UUID."]}``, or ``{"role": ["Null
            characters are not allowed."]}`` for a value holding NUL.
    """
    user = None
    raw_user = (_last(query, "user") or "").strip()
    if raw_user:
        user = parse_uuid(raw_user)
        if user is None or "\x00" in raw_user:
            raise ValidationFailed({"user": [INVALID_UUID]})
    roles = tuple(value.strip() for value in query.get("role", ()) if value.strip())
    search = (_last(query, "search_string") or "").strip() or None
    # PostgreSQL text cannot hold NUL; Django's form fields refuse it the same way
    errors = {
        name: [NULL_CHARACTERS]
        for name in ("role", "search_string")
        if any("\x00" in value for value in query.get(name, ()))
    }
    if errors:
        raise ValidationFailed(errors)
    return GrantFilter(user=user, roles=roles, search=search)


def team_handlers(scope_type: ScopeType) -> dict[str, Handler]:
    """The four actions of a customer's or a project's team, by action name."""

    def scope(request: web.Request) -> ScopeRef:
        return ScopeRef(scope_type, request.match_info["uuid"])

    async def list_users(request: web.Request) -> web.StreamResponse:
        caller = require_caller(request)
        session = request_session(request)
        query = query_lists(request.query)
        grant_filter = grant_filter_from_query(query)
        page_request = page_request_from_query(_last(query, "page"), _last(query, "page_size"))
        settings = request.app[SETTINGS]
        if request.method == "HEAD":
            total = await role_grants.count_scope_grants(
                session, caller, scope(request), grant_filter
            )
            page = page_request.resolve(total)
            return web.Response(content_type=JSON, headers=page_headers(settings, request, page))
        grants, page = await role_grants.list_scope_grants(
            session, caller, scope(request), page_request, grant_filter
        )
        fields = select_fields(TEAM_FIELDS, requested_fields(query))
        return json_response(
            [render_grant(settings, grant, fields) for grant in grants],
            headers=page_headers(settings, request, page),
        )

    async def add_user(request: web.Request) -> web.StreamResponse:
        grant = await role_grants.grant_role(
            request_session(request), request_caller(request), scope(request), body_fields(request)
        )
        return json_response(
            {"expiration_time": render_optional_datetime(grant.expiration_time)}, status=201
        )

    async def update_user(request: web.Request) -> web.StreamResponse:
        grant = await role_grants.update_role_expiration(
            request_session(request), request_caller(request), scope(request), body_fields(request)
        )
        return json_response({"expiration_time": render_optional_datetime(grant.expiration_time)})

    async def delete_user(request: web.Request) -> web.StreamResponse:
        await role_grants.revoke_role(
            request_session(request), request_caller(request), scope(request), body_fields(request)
        )
        return web.Response(status=200)

    return {
        "list_users": list_users,
        "add_user": add_user,
        "update_user": update_user,
        "delete_user": delete_user,
    }


def add_team_routes(router: web.UrlDispatcher, detail: str, scope_type: ScopeType) -> None:
    """``<detail>list_users/`` (GET, HEAD) and the three POST actions under a detail route."""
    handlers = team_handlers(scope_type)
    router.add_get(detail + "list_users/", handlers["list_users"])
    for action in ("add_user", "update_user", "delete_user"):
        router.add_post(f"{detail}{action}/", handlers[action])
