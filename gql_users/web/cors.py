"""CORS for browser apps on other origins (docs/operations.md#cors), with aiohttp-cors.

``GQL_USERS_CORS_ORIGINS`` lists the origins whose scripts may call ``/graphql``, ``/api/`` and
``/api-auth/``; empty (the default) adds nothing at all. A listed origin may send
``Authorization``, ``Content-Type`` and ``X-Impersonated-User-Uuid`` with the methods each route
serves, and read ``X-Result-Count``, ``Link`` and ``X-Request-Id``. No credentials mode: tokens
travel in ``Authorization``, never in cookies. Any other origin gets no CORS headers, so its
scripts cannot read the answers.

A preflight is answered before authentication is looked at (it carries no ``Authorization``);
one that is refused (an origin, method or header not allowed) is a 403 ``{"detail": ...}``, and
an ``OPTIONS`` request that is no preflight is 405, as without CORS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp_cors
from aiohttp import hdrs, web
from aiohttp_cors.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

from gql_users.http.keys import SETTINGS
from gql_users.http.responses import GRAPHQL_PATH, detail_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CORS_PREFIXES = (GRAPHQL_PATH, "/api/", "/api-auth/")
ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Impersonated-User-Uuid")
EXPOSE_HEADERS = ("X-Result-Count", "Link", "X-Request-Id")
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def _preflight_only(resource: web.Resource, handler: Handler) -> Handler:
    """aiohttp-cors's preflight handler, answering refusals in the REST error shape."""
    methods = {route.method for route in resource} - {hdrs.METH_ANY, hdrs.METH_OPTIONS}

    async def preflight(request: web.Request) -> web.StreamResponse:
        if hdrs.ORIGIN not in request.headers or (
            hdrs.ACCESS_CONTROL_REQUEST_METHOD not in request.headers
        ):
            raise web.HTTPMethodNotAllowed(request.method, methods)
        try:
            return await handler(request)
        except web.HTTPForbidden as refused:
            return detail_response(refused.text or "CORS preflight request failed.", 403)

    return preflight


class _RouterAdapter(ResourcesUrlDispatcherRouterAdapter):
    """aiohttp-cors's adapter, able to serve preflights on a resource with a ``*`` route.

    ``/api/users/me/`` and ``/api/users/confirm_email/`` answer every other method with 405
    through a ``*`` route; aiohttp-cors refuses such resources and aiohttp refuses to add an
    ``OPTIONS`` route beside one, although it prefers a route for the exact method when it
    resolves a request. The preflight route is registered directly, for every resource alike.
    """

    def add_preflight_handler(
        self, routing_entity: object, handler: Handler, webview: bool = False
    ) -> None:
        resource = (
            routing_entity.resource
            if isinstance(routing_entity, web.ResourceRoute)
            else routing_entity
        )
        if not isinstance(resource, web.Resource):
            raise ValueError(f"CORS is set up for plain resources only, not {resource!r}")
        if resource in self._resources_with_preflight_handlers:
            return
        route = web.ResourceRoute(hdrs.METH_OPTIONS, _preflight_only(resource, handler), resource)
        resource.register_route(route)
        self._preflight_routes.add(route)
        self._resources_with_preflight_handlers.add(resource)


def add_routes(app: web.Application) -> None:
    """Enable CORS on the API routes added so far (call it after them), if origins are set."""
    origins = app[SETTINGS].cors_origins
    if not origins:
        return
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=False,
        expose_headers=EXPOSE_HEADERS,
        allow_headers=ALLOW_HEADERS,
        max_age=PREFLIGHT_MAX_AGE,
    )
    defaults = {origin: options for origin in origins}
    cors = aiohttp_cors.CorsConfig(
        app, defaults=defaults, router_adapter=_RouterAdapter(app.router, defaults)
    )
    for resource in list(app.router.resources()):
        if not isinstance(resource, web.Resource) or not resource.canonical.startswith(
            CORS_PREFIXES
        ):
            continue
        for route in list(resource):
            if route.method not in (hdrs.METH_ANY, hdrs.METH_OPTIONS):
                cors.add(route)
