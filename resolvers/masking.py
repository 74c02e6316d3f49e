"""Core errors get their ``extensions.code``; database faults are ``SERVICE_UNAVAILABLE``;
anything unexpected is masked and logged.

A resolver error whose original exception is an ``AccountsError`` keeps the core's message
and gets the core's code (``resolvers/errors.py``). A transient database fault (the server
is unreachable, the pool or a lock timed out: ``gql_users/db/faults.py``) says so with the
code ``SERVICE_UNAVAILABLE`` and is logged as a warning, without a traceback; once one field
met a fault, a sibling that fails on the same session's broken transaction is that fault too
(docs/hardening.md#database-faults). Any other exception raised while
resolving is replaced by "Unexpected error." with a fresh ``errorId`` in its extensions, and
logged once, with that id and the traceback, so a user's report can be matched with the log
line while the response reveals nothing internal; the request's id (``X-Request-Id``) is there
too, as ``requestId``. Errors without a path (parse, validation,
variable coercion) are the client's and pass unchanged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gql_users.accounts.errors import AccountsError
from gql_users.db.faults import UNAVAILABLE, is_aftermath, is_database_unavailable
from gql_users.request_context import current_request_id
from resolvers.errors import error_code, error_message

logger = logging.getLogger("gql_users.graphql")

UNEXPECTED = "Unexpected error."
INTERNAL = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, AccountsError | GraphQLError)


def mask(error: GraphQLError) -> GraphQLError:
    """Log ``error`` with its traceback under a new id; return the masked error."""
    error_id = uuid.uuid4().hex
    original = error.original_error
    assert original is not None
    logger.error(
        "unexpected error %s in GraphQL field %s",
        error_id,
        ".".join(str(key) for key in error.path or ()) or "(operation)",
        exc_info=(type(original), original, original.__traceback__),
    )
    extensions: dict[str, object] = {"code": INTERNAL, "errorId": error_id}
    request_id = current_request_id()
    if request_id is not None:
        extensions["requestId"] = request_id
    return _with(error, UNEXPECTED, extensions)


def is_unavailable(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and is_database_unavailable(original)


def unavailable(error: GraphQLError) -> GraphQLError:
    """Log ``error`` as a database fault (no traceback: nothing to fix in the code); return
    the ``SERVICE_UNAVAILABLE`` error."""
    logger.warning(
        "database unavailable in GraphQL field %s: %s",
        ".".join(str(key) for key in error.path or ()) or "(operation)",
        type(error.original_error).__name__,
    )
    return _with(error, UNAVAILABLE, {"code": SERVICE_UNAVAILABLE})


def present(
    error: GraphQLError, after_fault: bool = False, *, streamed: bool = False
) -> GraphQLError:
    """The error as the client sees it; ``after_fault``: another error of the operation is a
    database fault. ``streamed``: an error of a subscription's event, where an error without
    a path is the event source's failure (the end of the subscriber's token, a database
    fault), presented as a resolver's would be."""
    original = error.original_error
    if error.path is None and not (streamed and original is not None):
        return error
    if isinstance(original, AccountsError):
        return _with(error, error_message(original), {"code": error_code(original)})
    if is_unavailable(error) or (after_fault and original is not None and is_aftermath(original)):
        return unavailable(error)
    if is_unexpected(error):
        return mask(error)
    return error


def present_errors(errors: list[GraphQLError], *, streamed: bool = False) -> list[GraphQLError]:
    """``present`` each of an operation's (or a subscription event's) errors."""
    after_fault = any(is_unavailable(error) for error in errors)
    return [present(error, after_fault, streamed=streamed) for error in errors]


class PresentErrors(SchemaExtension):
    """Rewrites the result's errors once the operation is done (pass the class, not an
    instance: Strawberry makes one per request)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = present_errors(result.errors)
