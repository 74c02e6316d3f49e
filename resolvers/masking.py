"""Core errors get their ``extensions.code``; anything unexpected is masked and logged.

A resolver error whose original exception is an ``AccountsError`` keeps the core's message
and gets the core's code (``resolvers/errors.py``). Any other exception raised while
resolving is replaced by "Unexpected error." with a fresh ``errorId`` in its extensions, and
logged once, with that id and the traceback, so a user's report can be matched with the log
line while the response reveals nothing internal. Errors without a path (parse, validation,
variable coercion) are the client's and pass unchanged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gql_users.accounts.errors import AccountsError
from resolvers.errors import error_code, error_message

logger = logging.getLogger("gql_users.graphql")

UNEXPECTED = "Unexpected error."
INTERNAL = "INTERNAL_SERVER_ERROR"


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
    return _with(error, UNEXPECTED, {"code": INTERNAL, "errorId": error_id})


def present(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it."""
    if error.path is None:
        return error
    original = error.original_error
    if isinstance(original, AccountsError):
        return _with(error, error_message(original), {"code": error_code(original)})
    if is_unexpected(error):
        return mask(error)
    return error


class PresentErrors(SchemaExtension):
    """Rewrites the result's errors once the operation is done (pass the class, not an
    instance: Strawberry makes one per request)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [present(error) for error in result.errors]
