"""graphql-core's executor with a short path for plain leaf fields.

A page of users with their permissions is well over a thousand fields, most of them scalars
read from an attribute (``types.py``: no resolver). graphql-core executes each one the general
way: an ``Info`` object, the arguments, Strawberry's default resolver, then value completion
(non-null, list, leaf, abstract, object). ``PlainFieldsExecutor`` reads such a field's
attribute and coerces it straight away when the field is a scalar or an enum without
arguments and its resolver is Strawberry's default one; it hands every other case back to
graphql-core unchanged: a value that is null, an error or an awaitable, a coercion that fails,
an object, a list, a field with arguments or a resolver, and any request that runs middleware.
The result is the same value graphql-core would have produced, errors included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """How to read one plain leaf field: its attribute, its coercion, whether null is allowed."""

    attribute: str
    coerce: Callable[[Any], Any]
    nullable: bool


PlainLeaves = Mapping[GraphQLObjectType, Mapping[str, PlainLeaf]]


def plain_leaves(schema: GraphQLSchema) -> PlainLeaves:
    """Per object type, its fields that Strawberry reads as an attribute and that are leaves
    without arguments, by GraphQL name."""
    found: dict[GraphQLObjectType, dict[str, PlainLeaf]] = {}
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, field in named.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            nullable_type = get_nullable_type(field.type)
            if (
                isinstance(definition, StrawberryField)
                and definition.is_basic_field
                and not field.args
                and is_leaf_type(nullable_type)
            ):
                leaf = PlainLeaf(
                    attribute=definition.python_name,
                    coerce=nullable_type.coerce_output_value,
                    nullable=not is_non_null_type(field.type),
                )
                found.setdefault(named, {})[name] = leaf
    return found


class PlainFieldsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; ``leaves`` is set per schema (``executor_for``)."""

    leaves: PlainLeaves = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            self.leaves = {}  # a middleware sees every field: the general way only

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        fields = self.leaves.get(parent_type)
        leaf = fields.get(field_details_list[0].node.name.value) if fields else None
        if leaf is not None:
            value = self.plain_value(leaf, source)
            if value is not Undefined:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def plain_value(self, leaf: PlainLeaf, source: Any) -> Any:
        """The completed value, or ``Undefined`` when graphql-core must take the field."""
        try:
            value = getattr(source, leaf.attribute)
        except Exception:  # noqa: BLE001 - graphql-core reads it again and reports the error
            return Undefined
        if value is None:
            return None if leaf.nullable else Undefined
        if isinstance(value, Exception):
            return Undefined
        if self.is_awaitable(value):
            # graphql-core reads the attribute again and awaits that one: this one never runs.
            close = getattr(value, "close", None)
            if close is not None:
                close()
            return Undefined
        try:
            coerced = leaf.coerce(value)
        except Exception:  # noqa: BLE001 - graphql-core coerces it again and reports the error
            return Undefined
        return Undefined if coerced is None else coerced


def executor_for(schema: GraphQLSchema) -> type[PlainFieldsExecutor]:
    """A ``PlainFieldsExecutor`` class that knows the plain leaves of ``schema``."""
    return type("PlainFieldsExecutor", (PlainFieldsExecutor,), {"leaves": plain_leaves(schema)})
