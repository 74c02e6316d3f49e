"""Waldur's projects API (``/api/projects/...``, docs/rest.md#customers-and-projects): parse,
call ``gql_users.accounts.organisations`` or ``role_grants``, render."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gql_users.accounts import organisations
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.validation import parse_uuid
from gql_users.accounts.wire import render_datetime, render_uuid
from gql_users.db.models import Customer, Project
from gql_users.http.authentication import require_caller
from gql_users.http.keys import SETTINGS, request_caller, request_session
from gql_users.http.responses import JSON, json_response
from gql_users.rest.customers import customer_url, shown_fields
from gql_users.rest.links import page_headers
from gql_users.rest.parsing import body_fields, last_query_value
from gql_users.rest.query import INVALID_UUID, page_request_from_query
from gql_users.rest.teams import add_team_routes
from gql_users.settings import Settings

PROJECTS = "/api/projects/"
PROJECT = PROJECTS + "{uuid}/"
PROJECT_FIELDS = (
    "url",
    "uuid",
    "name",
    "customer",
    "customer_uuid",
    "customer_name",
    "customer_abbreviation",
    "description",
    "created",
)


def project_url(settings: Settings, project: Project) -> str:
    return f"{settings.public_url}api/projects/{project.uuid.hex}/"


def render_project(
    settings: Settings,
    project: Project,
    customer: Customer,
    fields: tuple[str, ...] = PROJECT_FIELDS,
) -> dict[str, Any]:
    values = {
        "url": project_url(settings, project),
        "uuid": render_uuid(project.uuid),
        "name": project.name,
        "customer": customer_url(settings, customer),
        "customer_uuid": render_uuid(customer.uuid),
        "customer_name": customer.name,
        "customer_abbreviation": customer.abbreviation,
        "description": project.description,
        "created": render_datetime(project.created),
    }
    return {name: values[name] for name in fields}


async def _render_one(request: web.Request, project: Project, status: int = 200) -> web.Response:
    session = request_session(request)
    customer = (await organisations.customers_of(session, [project]))[project.customer_id]
    settings = request.app[SETTINGS]
    headers = {"Location": project_url(settings, project)} if status == 201 else None
    body = render_project(settings, project, customer, shown_fields(request, PROJECT_FIELDS))
    return json_response(body, status=status, headers=headers)


async def list_projects(request: web.Request) -> web.StreamResponse:
    """GET and HEAD; ``customer`` (a uuid, repeatable) keeps those customers' projects."""
    caller = require_caller(request)
    session = request_session(request)
    customer_uuids = []
    for raw in request.query.getall("customer", []):
        if not raw.strip():
            continue
        parsed = parse_uuid(raw) if "\x00" not in raw else None
        if parsed is None:
            raise ValidationFailed({"customer": [INVALID_UUID]})
        customer_uuids.append(parsed)
    page_request = page_request_from_query(
        last_query_value(request, "page"), last_query_value(request, "page_size")
    )
    projects, page = await organisations.list_projects_page(
        session, caller, page_request, customer_uuids=customer_uuids
    )
    settings = request.app[SETTINGS]
    headers = page_headers(settings, request, page)
    if request.method == "HEAD":
        return web.Response(content_type=JSON, headers=headers)
    customers = await organisations.customers_of(session, projects)
    fields = shown_fields(request, PROJECT_FIELDS)
    body = [
        render_project(settings, project, customers[project.customer_id], fields)
        for project in projects
    ]
    return json_response(body, headers=headers)


async def create(request: web.Request) -> web.StreamResponse:
    project = await organisations.create_project(
        request_session(request), request_caller(request), body_fields(request)
    )
    return await _render_one(request, project, status=201)


async def retrieve(request: web.Request) -> web.StreamResponse:
    project = await organisations.get_visible_project(
        request_session(request), require_caller(request), request.match_info["uuid"]
    )
    return await _render_one(request, project)


async def update(request: web.Request) -> web.StreamResponse:
    project = await organisations.update_project(
        request_session(request),
        request_caller(request),
        request.match_info["uuid"],
        body_fields(request),
        partial=request.method == "PATCH",
    )
    return await _render_one(request, project)


async def destroy(request: web.Request) -> web.StreamResponse:
    await organisations.delete_project(
        request_session(request), request_caller(request), request.match_info["uuid"]
    )
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(PROJECTS, list_projects)
    router.add_post(PROJECTS, create)
    router.add_get(PROJECT, retrieve)
    router.add_put(PROJECT, update)
    router.add_patch(PROJECT, update)
    router.add_delete(PROJECT, destroy)
    add_team_routes(router, PROJECT, "project")
