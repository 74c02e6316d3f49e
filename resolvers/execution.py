"""graphql-core's executor with compiled plain subtrees and a short path for plain fields.

A page of users with their permissions is well over a thousand fields, nearly all of them read
from an attribute (``types.py``: no resolver). graphql-core executes each one the general way:
an ``Info`` object, the arguments, Strawberry's default resolver (``getattr``), then value
completion (non-null, list, leaf, abstract, object).

First, when a value of an object type (a list of them, a union of them) is completed and its
whole sub-selection is plain, recursively, ``PlainFieldsExecutor`` completes it with the
function compiled for that selection (``compiled.py``: one pass per object, no ``Path``, no
``Info``); the compiled function is looked up once per request and field group. It gives up on
anything unusual (``Fallback``), and the subtree is then completed as below, from the same
value: the response is the same either way.

Else, field by field: ``PlainFieldsExecutor`` reads the attribute itself when the field takes
no arguments and its resolver is Strawberry's default one, and calls the method itself when its
resolver is a plain method of the object alone (no arguments, no ``info``, not async, no
extension: a ``Node``'s ``id``); then a scalar or an enum is coerced, and an object (of an
object type whose ``is_type_of``, if it has one, accepts it, or of a union member known by its
class) has its own fields executed, which is what value completion would do next. Anything else
(null where null is not allowed, an exception, an awaitable, a failed coercion, another class)
is completed the general way from the value already read, and fields with arguments or
resolvers, and requests that run middleware, take graphql-core's own path (with a middleware,
nothing is compiled either); only a list's non-null object items skip the general completion to
have their fields executed. The result is the value graphql-core would have produced, errors
included.

This overrides graphql-core 3.3.2 internals (``execute_field``, ``complete_value``,
``collect_and_execute_subfields``, ``handle_field_error``, ``build_resolve_info``) under
Strawberry 0.341's executor: see ``compiled.py`` for what to re-check when either is bumped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import get_strawberry_type_cast

from resolvers.compiled import NEVER_AWAITABLE, Fallback, Plans, Request, by_class, plain_reads


@dataclass(frozen=True, slots=True)
class PlainField:
    """How to read one plain field: its attribute (or the method of the object that computes
    it), whether null is allowed, and either the coercion of its scalar or enum type, or its
    object type, or for a union the object type of each class its values may have; a list
    has none of them (it is compiled, or completed the general way)."""

    read: Callable[[Any], Any]
    nullable: bool
    return_type: GraphQLOutputType
    coerce: Callable[[Any], Any] | None = None
    object_type: GraphQLObjectType | None = None
    union_types: Mapping[type, GraphQLObjectType] | None = None


PlainFields = Mapping[GraphQLObjectType, Mapping[str, PlainField]]


def plain_fields(schema: GraphQLSchema) -> PlainFields:
    """Per object type, its fields that Strawberry reads as an attribute or computes with a
    plain method (``plain_reads``): leaves, objects, unions and lists, by GraphQL name."""
    found: dict[GraphQLObjectType, dict[str, PlainField]] = {}
    for named, reads in plain_reads(schema).items():
        for name, plain_read in reads.items():
            field_type = named.fields[name].type
            nullable_type = get_nullable_type(field_type)
            read, nullable = plain_read.read, not is_non_null_type(field_type)
            plain: PlainField | None = None
            if is_leaf_type(nullable_type):
                coerce = nullable_type.coerce_output_value
                plain = PlainField(read, nullable, field_type, coerce=coerce)
            elif isinstance(nullable_type, GraphQLObjectType):
                plain = PlainField(read, nullable, field_type, object_type=nullable_type)
            elif isinstance(nullable_type, GraphQLUnionType):
                union_types = by_class(nullable_type.types)
                plain = PlainField(read, nullable, field_type, union_types=union_types)
            elif isinstance(nullable_type, GraphQLList):
                plain = PlainField(read, nullable, field_type)
            if plain is not None:
                found.setdefault(named, {})[name] = plain
    return found


def accepts(object_type: GraphQLObjectType, value: Any) -> bool:
    """Whether ``value`` completes as ``object_type`` without graphql-core's checks: the type
    has no ``is_type_of``, or it says yes at once (Strawberry's, for a type that implements an
    interface, looks at the value alone). An answer it would have to await is a no."""
    is_type_of = object_type.is_type_of
    return is_type_of is None or is_type_of(value, cast(Any, None)) is True


Completer = Callable[[Any], Any]


class PlainFieldsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; ``plain`` and ``plans`` are set per schema (``executor_for``)."""

    plain: PlainFields = {}
    plans: Plans | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            # A middleware sees every field: the general way only.
            self.plain = {}
            self.plans = None
        self.completers: dict[tuple[int, int], tuple[FieldDetailsList, Completer | None]] = {}
        self.declined: Path | None = None
        """Where compiled code last gave up: the general way completes the value there, and
        its own completions at the same path (the type inside a non-null or a list) are not
        tried again."""

    def completer(
        self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Completer | None:
        """The compiled completion of a value of ``return_type`` with the sub-selection of
        ``field_details_list`` (None: not compiled), looked up once per request and field
        group (the group is kept with it, so that its id is not reused meanwhile)."""
        key = (id(return_type), id(field_details_list))
        found = self.completers.get(key)
        if found is not None:
            return found[1]
        completer = None
        if self.plans is not None:
            request = Request(
                self.schema,
                self.fragments,
                self.variable_values,
                self.operation,
                self.hide_suggestions,
            )
            completer = self.plans.completer(return_type, field_details_list, request)
        self.completers[key] = (field_details_list, completer)
        return completer

    def run_compiled(self, completer: Completer, value: Any, path: Path) -> Any:
        """The value at ``path`` completed by compiled code, or ``Fallback`` when it gave
        up."""
        plans = cast(Plans, self.plans)
        try:
            completed = completer(value)
        except Exception:  # noqa: BLE001 - the subtree is completed the general way
            plans.fallbacks += 1
            self.declined = path
            return Fallback
        plans.completed += 1
        return completed

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        fields = self.plain.get(parent_type)
        plain = fields.get(field_details_list[0].node.name.value) if fields else None
        if plain is None:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            value = plain.read(source)
        except Exception as error:  # noqa: BLE001 - completed (reported) the general way
            value = error
        if value is None and plain.nullable:
            return None
        if value is not None and not isinstance(value, Exception):
            if plain.coerce is None:
                completer = self.completer(plain.return_type, field_details_list)
                if completer is not None:
                    completed = self.run_compiled(completer, value, path)
                    if completed is not Fallback:
                        return completed
            if plain.coerce is not None:
                if type(value) in NEVER_AWAITABLE or not self.is_awaitable(value):
                    try:
                        coerced = plain.coerce(value)
                    except Exception:  # noqa: BLE001 - coerced again and reported below
                        coerced = None
                    if coerced is not None:
                        return coerced
            else:
                object_type = plain.object_type or self.runtime_type(plain, value)
                if (
                    object_type is not None
                    and not self.is_awaitable(value)
                    and accepts(object_type, value)
                ):
                    return self.object_value(
                        plain, object_type, field_details_list, path, value, position_context
                    )
        return self.complete_the_general_way(
            parent_type, field_details_list, path, value, position_context
        )

    def complete_the_general_way(
        self,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """What ``execute_field`` does with a resolver's result (``value``; an exception the
        resolver raised), for a value read already: it is not read a second time."""
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        assert field_def is not None, "plain fields are fields of their type"
        return_type = field_def.type
        info = self.build_resolve_info(
            field_def, [details.node for details in field_details_list], parent_type, path
        )
        try:
            if isinstance(value, Exception):
                raise value
            if self.is_awaitable(value):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, value, position_context
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return self.handled(completed, return_type, field_details_list, path)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A value whose whole sub-selection is plain is completed by compiled code; else a
        non-null object (each item of a list of them, mostly) goes straight to its own
        fields, which is where graphql-core's completion ends for it."""
        completer = (
            None if path is self.declined else self.completer(return_type, field_details_list)
        )
        if completer is not None:
            completed = self.run_compiled(completer, result, path)
            if completed is not Fallback:
                return completed
        if type(return_type) is GraphQLNonNull and result is not None:
            object_type = return_type.of_type
            if (
                type(object_type) is GraphQLObjectType
                and not isinstance(result, Exception)
                and accepts(object_type, result)
            ):
                return self.collect_and_execute_subfields(
                    object_type, field_details_list, path, result, position_context
                )
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    @staticmethod
    def runtime_type(plain: PlainField, value: Any) -> GraphQLObjectType | None:
        """The union member of ``value`` by its class; None when Strawberry must decide."""
        if plain.union_types is None or get_strawberry_type_cast(value) is not None:
            return None
        return plain.union_types.get(type(value))

    def object_value(
        self,
        plain: PlainField,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """The object's own fields executed, with the errors handled as ``execute_field``
        handles them (null, or raised on for a non-null field)."""
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.return_type, field_details_list, path)
            return None
        return self.handled(completed, plain.return_type, field_details_list, path)

    def handled(
        self,
        completed: Any,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """``completed``, or when it is awaitable, an awaitable that handles its error."""
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None

        return await_completed()


def executor_for(schema: GraphQLSchema, plans: int = 256) -> type[PlainFieldsExecutor]:
    """A ``PlainFieldsExecutor`` class that knows the plain fields of ``schema`` and keeps up
    to ``plans`` compiled selections."""
    attributes = {"plain": plain_fields(schema), "plans": Plans(schema, plans)}
    return type("PlainFieldsExecutor", (PlainFieldsExecutor,), attributes)
