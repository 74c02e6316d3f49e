"""``graphql-transport-ws`` on ``/graphql``: Strawberry's protocol handler, made strict.

What this handler adds (docs/graphql.md#subscriptions, docs/hardening.md#subscriptions):

* **Message shapes** are checked before Strawberry reads them: a message that is not an object
  with a string ``type``, or a ``subscribe`` whose ``id``, ``query``, ``variables``,
  ``operationName`` or ``extensions`` has the wrong type, closes the connection with 4400 and
  the reason (the protocol's answer to an invalid message), never an exception in the server.
* **Subscriptions only.** Queries and mutations are answered with an ``error`` message: they
  go over HTTP, where the request has its own session and limits.
* **One context per operation**, copied from the connection's (``Context.for_operation``), so
  that two subscriptions of one connection never share loaders or a session.
* **Errors of events** are presented as over HTTP (``resolvers.masking``): core errors with
  their code, database faults as ``SERVICE_UNAVAILABLE``, anything else masked and logged.
* **The token's end.** An event source that ends because the subscriber's token no longer
  authenticates sends that error, completes, and closes the connection with 4403, as a bad
  ``connection_init`` would have been refused.
* **Subscriptions per connection**: a ``subscribe`` beyond the limit is answered with an
  ``error`` message naming it.
* **Failures** of the connection's own work (the database is down during ``connection_init``)
  close it with 1013 (try again later) or 1011 (internal error), logged, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

import orjson
from aiohttp import ClientConnectionResetError
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.aiohttp.views import AiohttpWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from gql_users.accounts.errors import AuthenticationFailed
from gql_users.accounts.live import TOO_MANY_PER_CONNECTION, SubscriptionLimit
from gql_users.db.faults import is_database_unavailable
from resolvers.context import Context
from resolvers.errors import error_code
from resolvers.masking import present_errors

log = logging.getLogger("gql_users.graphql.ws")

INVALID_MESSAGE = "A message must be a JSON object with a string `type`."
INVALID_SUBSCRIBE = (
    "Invalid `subscribe`: it needs a string `id` (1 to {max_id} characters) and a `payload` "
    "object with a string `query`."
)
INVALID_COMPLETE = "`complete` needs the string `id` of an operation."
SUBSCRIPTIONS_ONLY = "Send queries and mutations over HTTP: this connection carries subscriptions."
MAX_ID_LENGTH = 128
UNAVAILABLE_CLOSE = (1013, "Service unavailable: try again later")
INTERNAL_CLOSE = (1011, "Internal error")
FORBIDDEN_CLOSE = (4403, "Forbidden")


MAX_CLOSE_REASON = 123
"""Bytes of a close frame's reason (its payload is at most 125 bytes, 2 of them the code)."""


def close_reason(text: str) -> str:
    """``text`` cut to fit a close frame, on a character boundary."""
    return text.encode()[:MAX_CLOSE_REASON].decode(errors="ignore")


def _optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def message_problem(message: object) -> str | None:
    """Why ``message`` is not a well-formed client message; None when it is."""
    if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
        return INVALID_MESSAGE
    kind = message["type"]
    message_id = message.get("id")
    id_ok = isinstance(message_id, str) and 0 < len(message_id) <= MAX_ID_LENGTH
    if kind == "subscribe":
        payload = message.get("payload")
        if not (
            id_ok
            and isinstance(payload, Mapping)
            and isinstance(payload.get("query"), str)
            and _optional(payload.get("variables"), Mapping)
            and _optional(payload.get("operationName"), str)
            and _optional(payload.get("extensions"), Mapping)
        ):
            return INVALID_SUBSCRIBE.format(max_id=MAX_ID_LENGTH)
    if kind == "complete" and not id_ok:
        return INVALID_COMPLETE
    return None


def refusal(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The ``error`` payload of an operation refused before it started: a query or mutation
    is told where it belongs; parse and validation errors (the document limits among them)
    pass as they are."""
    if any(isinstance(error.original_error, InvalidOperationTypeError) for error in errors):
        return [GraphQLError(SUBSCRIPTIONS_ONLY)]
    return present_errors(errors, streamed=True)


def ends_the_token(errors: list[GraphQLError]) -> bool:
    return any(isinstance(error.original_error, AuthenticationFailed) for error in errors)


class TextWebSocketAdapter(AiohttpWebSocketAdapter):
    """Messages go out as text frames, as the protocol requires (the view's JSON encoder
    returns bytes, which Strawberry would send as binary frames)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_str(orjson.dumps(message).decode())
        except (RuntimeError, ClientConnectionResetError) as error:
            raise WebSocketDisconnected from error


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's ``max_subscriptions_per_connection`` is the limit, checked here first so
    that the refusal carries its number and code."""

    context: Context

    async def handle_message(self, message: Message) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {"type": "connection_init", "payload": {}}  # the protocol allows null
        limit = self.max_subscriptions_per_connection
        if message["type"] == "subscribe" and limit is not None and len(self.operations) >= limit:
            await self._refuse(message["id"], TOO_MANY_PER_CONNECTION, limit)
            return
        try:
            await super().handle_message(message)
        except WebSocketDisconnected:
            raise
        except Exception as error:
            await self._close_after(error)

    async def handle_invalid_message(self, error_message: str) -> None:
        await self.websocket.close(4400, close_reason(error_message))

    async def _refuse(self, operation_id: str, template: str, limit: int) -> None:
        error = SubscriptionLimit(template.format(limit=limit))
        formatted = GraphQLError(error.detail, extensions={"code": error_code(error)}).formatted
        await self.send_message(
            cast(Message, {"id": operation_id, "type": "error", "payload": [formatted]})
        )

    async def _close_after(self, error: Exception) -> None:
        if is_database_unavailable(error):
            log.warning("database unavailable on a GraphQL WebSocket: %s", type(error).__name__)
            await self.websocket.close(*UNAVAILABLE_CLOSE)
        else:
            log.error("unexpected error on a GraphQL WebSocket", exc_info=error)
            await self.websocket.close(*INTERNAL_CLOSE)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        try:
            ended = await self._stream(operation)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
            if ended:
                await self.websocket.close(*FORBIDDEN_CLOSE)
        except WebSocketDisconnected:
            pass
        except Exception as error:  # the stream presents its own errors: this is ours
            self.operations.pop(operation.id, None)
            await self._close_after(error)

    async def _stream(self, operation: Operation[Context, None]) -> bool:
        """Send the operation's results; True when it ended with the subscriber's token."""
        results = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=self.context.for_operation(),
            root_value=None,
            operation_name=operation.operation_name,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )
        first = True
        async with aclosing(results):
            try:
                async for result in results:
                    if not isinstance(result, ExecutionResult):  # incremental delivery
                        await operation.send_initial_errors([GraphQLError(SUBSCRIPTIONS_ONLY)])
                        return False
                    errors = result.errors or []
                    if first and isinstance(result, PreExecutionError):
                        await operation.send_initial_errors(refusal(errors))
                        return False
                    first = False
                    ended = ends_the_token(errors)
                    result.errors = present_errors(errors, streamed=True) or None
                    await operation.send_next(result)
                    if ended:
                        return True
            except GraphQLSyntaxError as error:  # Strawberry's stream raises it, unlike HTTP's
                await operation.send_initial_errors([error])
        return False
