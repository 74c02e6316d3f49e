"""The GraphQL schema: the domains' queries and mutations merged, with the protection and
error extensions. One schema per set of limits (an app builds it once)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from gql_users.settings import Settings
from resolvers.auth.mutations import AuthMutations
from resolvers.execution import executor_for
from resolvers.masking import PresentErrors
from resolvers.operation_metrics import CountOperations
from resolvers.protection import Limits, protection_extensions
from resolvers.scalars import SCALAR_MAP
from resolvers.scopes.mutations import ScopeMutations
from resolvers.scopes.queries import ScopeQueries
from resolvers.users.mutations import UserMutations
from resolvers.users.queries import UserQueries
from resolvers.users.subscriptions import UserSubscriptions

Query = merge_types("Query", (UserQueries, ScopeQueries))
Mutation = merge_types("Mutation", (AuthMutations, UserMutations, ScopeMutations))
Subscription = merge_types("Subscription", (UserSubscriptions,))


class Schema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One result per request, over HTTP: a subscription needs the WebSocket (which runs
        ``stream``), and is refused here with ``InvalidOperationTypeError``."""
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            allowed_operation_types=allowed - {OperationType.SUBSCRIPTION},
            operation_extensions=operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry logs every error with a traceback here; ``PresentErrors`` logs the
        unexpected ones (with their error id) instead, and client errors are not logged."""


@lru_cache(maxsize=8)
def _schema_for(limits: Limits) -> Schema:
    extensions: list[Any] = [CountOperations, *protection_extensions(limits), PresentErrors]
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # Batching stays off (the default): one operation per request keeps the limits
        # above meaningful.
        config=StrawberryConfig(scalar_map=SCALAR_MAP, batching_config=None),
    )
    # Known once the schema is built: which fields the executor may read directly.
    schema.execution_context_class = executor_for(schema._schema)
    return schema


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema for ``settings`` (defaults when None); built once per distinct limits."""
    return _schema_for(Limits.from_settings(settings or Settings()))


def schema_sdl() -> str:
    """The SDL of the schema, as ``schema.graphql`` holds it (limits do not change it)."""
    return build_schema().as_str() + "\n"
