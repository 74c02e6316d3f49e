"""Counts each GraphQL operation, and its errors, by operation name and type; and tells the
access log which operation the request ran (docs/operations.md#metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from gql_users import metrics
from gql_users.request_context import current

UNKNOWN_TYPE = "unknown"
"""The type of an operation whose document did not parse or names no operation it holds."""


class CountOperations(SchemaExtension):
    """Pass the class, not an instance: Strawberry makes one per request."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.count()

    def count(self) -> None:
        context = self.execution_context
        operation = metrics.operation_label(context.operation_name)
        try:
            kind = context.operation_type.value
        except Exception:  # no document, or it has no operation of that name
            kind = UNKNOWN_TYPE
        metrics.GRAPHQL_OPERATIONS.labels(operation=operation, type=kind).inc()
        errors = len(context.result.errors or ()) if context.result is not None else 0
        if errors:
            metrics.GRAPHQL_ERRORS.labels(operation=operation, type=kind).inc(errors)
        info = current.get()
        if info is not None:
            info.operation = operation
