"""Waldur's customers API (``/api/customers/...``, docs/rest.md#customers-and-projects): parse,
call ``gql_users.accounts.organisations`` or ``role_grants``, render."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gql_users.accounts import organisations
from gql_users.accounts.shaping import select_fields
from gql_users.accounts.wire import render_datetime, render_uuid
from gql_users.db.models import Customer
from gql_users.http.authentication import require_caller
from gql_users.http.keys import SETTINGS, request_caller, request_session
from gql_users.http.responses import JSON, json_response
from gql_users.rest.links import page_headers
from gql_users.rest.parsing import (
    body_fields,
    last_query_value,
    query_lists,
    requested_fields,
)
from gql_users.rest.query import page_request_from_query
from gql_users.rest.teams import add_team_routes
from gql_users.settings import Settings

CUSTOMERS = "/api/customers/"
CUSTOMER = CUSTOMERS + "{uuid}/"
CUSTOMER_FIELDS = ("url", "uuid", "created", "name", "abbreviation", "description")


def customer_url(settings: Settings, customer: Customer) -> str:
    return f"{settings.public_url}api/customers/{customer.uuid.hex}/"


def render_customer(
    settings: Settings, customer: Customer, fields: tuple[str, ...] = CUSTOMER_FIELDS
) -> dict[str, Any]:
    values = {
        "url": customer_url(settings, customer),
        "uuid": render_uuid(customer.uuid),
        "created": render_datetime(customer.created),
        "name": customer.name,
        "abbreviation": customer.abbreviation,
        "description": customer.description,
    }
    return {name: values[name] for name in fields}


def shown_fields(request: web.Request, available: tuple[str, ...]) -> tuple[str, ...]:
    return select_fields(available, requested_fields(query_lists(request.query)))


async def list_customers(request: web.Request) -> web.StreamResponse:
    caller = require_caller(request)
    page_request = page_request_from_query(
        last_query_value(request, "page"), last_query_value(request, "page_size")
    )
    customers, page = await organisations.list_customers_page(
        request_session(request), caller, page_request
    )
    settings = request.app[SETTINGS]
    headers = page_headers(settings, request, page)
    if request.method == "HEAD":
        return web.Response(content_type=JSON, headers=headers)
    fields = shown_fields(request, CUSTOMER_FIELDS)
    return json_response(
        [render_customer(settings, customer, fields) for customer in customers], headers=headers
    )


async def create(request: web.Request) -> web.StreamResponse:
    customer = await organisations.create_customer(
        request_session(request), request_caller(request), body_fields(request)
    )
    settings = request.app[SETTINGS]
    return json_response(
        render_customer(settings, customer, shown_fields(request, CUSTOMER_FIELDS)),
        status=201,
        headers={"Location": customer_url(settings, customer)},
    )


async def retrieve(request: web.Request) -> web.StreamResponse:
    customer = await organisations.get_visible_customer(
        request_session(request), require_caller(request), request.match_info["uuid"]
    )
    return json_response(
        render_customer(request.app[SETTINGS], customer, shown_fields(request, CUSTOMER_FIELDS))
    )


async def update(request: web.Request) -> web.StreamResponse:
    customer = await organisations.update_customer(
        request_session(request),
        request_caller(request),
        request.match_info["uuid"],
        body_fields(request),
        partial=request.method == "PATCH",
    )
    return json_response(
        render_customer(request.app[SETTINGS], customer, shown_fields(request, CUSTOMER_FIELDS))
    )


async def destroy(request: web.Request) -> web.StreamResponse:
    await organisations.delete_customer(
        request_session(request), request_caller(request), request.match_info["uuid"]
    )
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(CUSTOMERS, list_customers)
    router.add_post(CUSTOMERS, create)
    router.add_get(CUSTOMER, retrieve)
    router.add_put(CUSTOMER, update)
    router.add_patch(CUSTOMER, update)
    router.add_delete(CUSTOMER, destroy)
    add_team_routes(router, CUSTOMER, "customer")
