"""``/graphql``: Strawberry's aiohttp view, adjusted to the GraphQL-over-HTTP specification.

What Strawberry does not do by itself, and this view adds:

* **Content negotiation.** ``application/graphql-response+json`` when the client accepts it
  (by quality, then by order), else ``application/json`` (also for ``*/*`` and for no Accept
  header); 406 when the client accepts neither.
* **Status codes.** A request error (the document does not parse or validate, or the
  variables do not coerce; the response then has no ``data`` entry) is 400 with
  ``application/graphql-response+json`` and 200 with ``application/json``, as the spec asks
  of each. A malformed HTTP request (bad JSON, no query, wrong parameter types) is 400 with
  a GraphQL-shaped JSON body.
* **GET is for queries only**: a mutation over GET is 405 with ``Allow: POST``.
* **The SQL statement count** in ``extensions.sqlCount`` when ``GQL_USERS_DEBUG_SQL`` is on.

A WebSocket upgrade speaking ``graphql-transport-ws`` carries subscriptions
(``gql_users.web.graphql_ws``); the connection authenticates in ``connection_init``.

A browser's GET without a query is redirected to the offline GraphiQL at ``/playground/``
(Strawberry's own page loads its scripts from a CDN, which fails with no internet access).
Authentication is the auth middleware's, as for REST: a bad token is 401 before the view runs.
"""

from __future__ import annotations

import weakref
from datetime import timedelta
from typing import Any

import orjson
from aiohttp import WSCloseCode, web
from cross_web import HTTPException
from graphql import GraphQLError
from strawberry.aiohttp.views import GraphQLView as StrawberryGraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from gql_users.accounts.callers import ANONYMOUS, Caller
from gql_users.accounts.errors import AuthenticationFailed
from gql_users.accounts.tokens import authenticate_token, parse_authorization
from gql_users.db.faults import RETRY_AFTER_SECONDS
from gql_users.http.addresses import client_address
from gql_users.http.keys import (
    CALLER,
    CURSOR_SECRET,
    EDUTEAMS,
    EVENTS,
    SESSION,
    SESSIONMAKER,
    SETTINGS,
    SQL_COUNTER,
    SUBSCRIBERS,
)
from gql_users.http.responses import GRAPHQL_PATH, GRAPHQL_RESPONSE, JSON, negotiate
from gql_users.settings import Settings
from gql_users.web.graphql_ws import TextWebSocketAdapter, TransportWSHandler
from resolvers.context import Context, LiveConnection
from resolvers.masking import SERVICE_UNAVAILABLE, is_unavailable, is_unexpected, mask, unavailable
from resolvers.schema import build_schema

PATH = GRAPHQL_PATH
PLAYGROUND = "/playground/"

MEDIA_TYPE = web.RequestKey("graphql_media_type", str)
STATUS = web.RequestKey("graphql_status", int)

NOT_ACCEPTABLE = f"Accept {GRAPHQL_RESPONSE} or {JSON}."
GET_MUTATION = "Mutations are not allowed over GET; send them with POST."
SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions are served over a WebSocket on this path (graphql-transport-ws), not over HTTP."
)
BAD_OPERATION_NAME = "The GraphQL operation's `operationName` must be a string or null."
HEARTBEAT = 30.0
"""Seconds between the server's WebSocket pings: a peer that stops answering is dropped."""


def is_request_error(result: ExecutionResult) -> bool:
    """The operation never started: parse, validation or variable-coercion errors (none of
    which has a path), so the response must not have a ``data`` entry."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def is_internal(error: GraphQLError) -> bool:
    """An exception of ours before execution started (Strawberry wraps it without a location);
    a variable that failed to coerce also carries its scalar's exception, but with the
    variable's location, and is the client's error."""
    return is_unexpected(error) and not error.nodes


def failed_for_unavailability(result: ExecutionResult) -> bool:
    """Every error is a database fault and no root field has a value: the operation as a
    whole failed because the database is unavailable (503). A partial result (a root field
    resolved, e.g. the first of two mutations was committed) stays 200, the fault in its
    errors (docs/hardening.md#database-faults)."""
    errors = result.errors or ()
    return (
        bool(errors)
        and all((error.extensions or {}).get("code") == SERVICE_UNAVAILABLE for error in errors)
        and all(value is None for value in (result.data or {}).values())
    )


def _error_body(message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message}]})


def _json_response(
    body: bytes, status: int, media: str, headers: dict[str, str] | None = None
) -> web.Response:
    response = web.Response(body=body, status=status, headers=headers)
    response.headers["Content-Type"] = f"{media}; charset=utf-8"
    return response


class GraphQLView(StrawberryGraphQLView[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema=build_schema(settings),
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.graphql_ws_init_timeout),
            max_subscriptions_per_connection=settings.graphql_subscriptions_per_connection,
            allowed_origins=settings.cors_origins,
            multipart_uploads_enabled=False,
        )
        self.settings = settings
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            max_msg_size=self.settings.graphql_ws_max_message_size,
            heartbeat=HEARTBEAT,
        )
        await websocket.prepare(request)
        self.websockets.add(websocket)
        return websocket

    async def close_websockets(self, _app: web.Application) -> None:
        """At shutdown: every open connection is told the server is going away."""
        for websocket in tuple(self.websockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutting down")

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate ``connection_init``: ``{"authorization": "Token <key>"}``, else the
        upgrade request's ``Authorization`` header; no usable token refuses the connection
        (4403). The token slides as a request's would."""
        live = context.live
        assert live is not None
        given = (context.connection_params or {}).get("authorization")
        try:
            if given is not None and not isinstance(given, str):
                raise AuthenticationFailed("Invalid token.")
            key = parse_authorization(given) if given is not None else live.header_key
            if key is None:
                raise AuthenticationFailed("Authentication credentials were not provided.")
            async with live.sessions() as session:
                user, token = await authenticate_token(
                    session, key, debounce=self.settings.token_refresh_debounce
                )
        except AuthenticationFailed as error:
            raise ConnectionRejectionError() from error
        live.key = key
        context.caller = Caller(user=user, token=token)
        return UNSET

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if self.is_websocket_request(request):
            return await self.run(request=request)
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            raise web.HTTPFound(PLAYGROUND)
        media = negotiate(request.headers.get("Accept"))
        if media is None:
            return _json_response(_error_body(NOT_ACCEPTABLE), 406, JSON)
        request[MEDIA_TYPE] = media
        try:
            response = await self.run(request=request)
        except HTTPException as error:
            headers = {"Allow": "POST"} if error.status_code == 405 else None
            return _json_response(_error_body(error.reason), error.status_code, media, headers)
        if isinstance(response, web.Response) and response.body is not None:
            response.set_status(request.get(STATUS, 200))
            response.headers["Content-Type"] = f"{media}; charset=utf-8"
            if response.status == 503:
                response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    async def get_context(self, request: web.Request, response: Any) -> Context:
        live = None
        caller = request[CALLER]
        if isinstance(response, web.WebSocketResponse):
            # The connection outlives the request: each event reads in a session of its own,
            # and the request's is given back to the pool now.
            await request[SESSION].close()
            header = request.headers.get("Authorization") if caller.is_authenticated else None
            live = LiveConnection(
                sessions=request.app[SESSIONMAKER],
                hub=request.app[EVENTS],
                counts=request.app[SUBSCRIBERS],
                header_key=parse_authorization(header),
            )
            caller = ANONYMOUS
        return Context(
            session=request[SESSION],
            caller=caller,
            live=live,
            settings=request.app[SETTINGS],
            eduteams=request.app[EDUTEAMS],
            cursor_secret=request.app[CURSOR_SECRET],
            client_address=client_address(request),
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, str | None):
            raise HTTPException(400, BAD_OPERATION_NAME)
        return data

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            refused = error.__cause__
            if isinstance(refused, InvalidOperationTypeError):
                if refused.operation_type is OperationType.SUBSCRIPTION:
                    raise HTTPException(400, SUBSCRIPTION_OVER_HTTP) from error
                raise HTTPException(405, GET_MUTATION) from error
            raise

    async def process_result(
        self, request: web.Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        rendered = process_result(result)
        if is_request_error(result):
            del rendered["data"]
            if any(is_internal(error) for error in result.errors or ()):
                errors = [
                    unavailable(error) if is_unavailable(error) else mask(error)
                    for error in result.errors or ()
                ]
                rendered["errors"] = [error.formatted for error in errors]
                result.errors = errors
                request[STATUS] = 503 if failed_for_unavailability(result) else 500
            elif request.get(MEDIA_TYPE) == GRAPHQL_RESPONSE:
                request[STATUS] = 400
        elif failed_for_unavailability(result):
            request[STATUS] = 503
        if request.app[SETTINGS].debug_sql and SQL_COUNTER in request:
            extensions = dict(rendered.get("extensions") or {})
            extensions["sqlCount"] = request[SQL_COUNTER].count
            rendered["extensions"] = extensions
        return rendered

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def add_routes(app: web.Application) -> None:
    view = GraphQLView(app[SETTINGS])
    app.on_shutdown.append(view.close_websockets)
    app.router.add_route("GET", PATH, view)
    app.router.add_route("POST", PATH, view)
