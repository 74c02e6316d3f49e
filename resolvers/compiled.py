"""Compiled execution of plain subtrees: one generated Python function per object type and
selection, which builds the result dicts of a whole subtree in one pass.

graphql-core executes a page of users field by field: per field, ``execute_fields``, a
``Path``, the executor's own lookups, an awaitability test, value completion; per object,
``collect_subfields`` and an ``is_type_of``. When every field of a value's sub-selection is
plain (``plain_reads``: read as an attribute, or computed by a plain method of the object;
no arguments), recursively, none of that depends on the data: ``Plans.completer`` compiles the
selection once into Python source, for example for ``edges { node { uuid username } }``::

    def o1(s):                      # UserEdge
        v = s.node
        r0 = o2(v) if type(v) is K3 else H4(v, s)
        return {'node': r0}

    def o2(s):                      # User: a Node, so a ``strawberry.cast`` is refused
        if getattr(s, CAST, None) is not None: raise Fallback
        v = s.uuid
        r0 = L5(v, s)               # UUID: the scalar's serializer
        v = s.username
        r1 = v if type(v) is str else L6(v, s)
        return {'uuid': r0, 'username': r1}

Generated source was measured against a flat tuple plan walked by one loop: on the bench's
page of 50 users with their permissions, the loop took about 10 % longer (0.9 against 0.8 ms),
before it handled the anomalies the generated code handles.

Fields are collected with graphql-core's own ``collect_subfields`` (fragments, inline
fragments with type conditions, aliases, merged fields, ``__typename``, field order), for the
values the request gives the variables of the subtree's ``@skip`` and ``@include``. A ``str``
for ``String`` and ``ID``, a ``bool`` for ``Boolean`` and an ``int`` in range for ``Int`` go
as they are; any other leaf goes through its type's ``coerce_output_value``; an object must be
of its type's class exactly, a union member is found by its class. A selection with a field
that is not plain or is of an interface type, a directive other than ``@skip``/``@include``,
fragment variables, or more than ``MAX_FIELDS`` fields is not compiled (``NotCompilable``): it
goes the general way, and the plain selections below it are compiled on their own.

Anything else raises ``Fallback`` (so does a read that raises): null where null is not allowed,
an awaitable, another class, a failed coercion. The executor (``execution.py``) then completes
the whole subtree the general way from the value it started from; reads are plain, so reading
again gives the same values, errors included. A coroutine read and given up is closed when
reading again makes a new one (``_discard``), so that none is left never awaited.

Plans are kept across requests in a bounded LRU (``Plans``) keyed on the identity of the
field nodes of the selection: a parsed document is cached by Strawberry (``ParserCache``), so
the same text gives the same nodes; each entry holds its nodes (ids are not reused while it
lives) and the fragment definitions it used (checked by identity on use). A selection is
compiled the second time it is asked for with the same values of its variables (at most
``MAX_VARIANTS`` of them): a document sent once goes the general way, not worth compiling.

This reaches into graphql-core 3.3.2 and Strawberry 0.341 internals: the executor's
``complete_value``/``execute_field`` signatures, ``FieldDetails`` (no ``@defer`` usage nor
fragment variables are compiled), ``collect_subfields``, ``coerce_output_value``, Strawberry's
field definitions (``is_basic_field``, ``base_resolver``) and its ``is_type_of``, union
resolution and ``strawberry.cast`` attribute. When either is bumped, re-check those and run
tests/graphql/test_compiled.py, which compares the results with graphql-core's own executor.
"""

from __future__ import annotations

import keyword
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from inspect import isawaitable
from operator import attrgetter
from types import CoroutineType
from typing import Any, NamedTuple
from uuid import UUID

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.pyutils import Undefined
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

NEVER_AWAITABLE = frozenset({str, int, float, bool, UUID, datetime, date})
"""Classes of leaf values that are never awaitable (checked before the general test)."""

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
MAX_FIELDS = 5000
"""At most this many fields per compiled selection (a larger one goes the general way)."""
MAX_VARIANTS = 16
"""At most this many compiled variants per selection (for its ``@skip``/``@include``)."""


class Fallback(Exception):
    """The subtree is not completed here: the general way completes it instead."""


class NotCompilable(Exception):
    """The selection has a field, a directive or a type that compiled code does not take."""


class PlainRead(NamedTuple):
    """How to read one plain field: its attribute (``attribute`` names it), or ``read``, the
    plain method of the object that computes it."""

    read: Callable[[Any], Any]
    attribute: str | None


def _plain_read(definition: StrawberryField) -> PlainRead | None:
    """How to read the field without Strawberry's resolver wrapping: its attribute, or its
    resolver when that is a plain method of the object alone; None for any other field."""
    if definition.extensions or definition.permission_classes:
        return None
    if definition.is_basic_field:
        name = definition.python_name
        return PlainRead(attrgetter(name), name)
    resolver = definition.base_resolver
    if (
        resolver is None
        or resolver.is_async
        or resolver.arguments
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.self_parameter is None
    ):
        return None
    method = resolver.wrapped_func
    if isinstance(method, staticmethod | classmethod):
        return None
    return PlainRead(method, None)


def plain_reads(schema: GraphQLSchema) -> dict[GraphQLObjectType, dict[str, PlainRead]]:
    """Per object type, its fields without arguments that Strawberry reads as an attribute or
    computes with a plain method, by GraphQL name."""
    found: dict[GraphQLObjectType, dict[str, PlainRead]] = {}
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, graphql_field in named.fields.items():
            definition = (graphql_field.extensions or {}).get(
                GraphQLCoreConverter.DEFINITION_BACKREF
            )
            if not isinstance(definition, StrawberryField) or graphql_field.args:
                continue
            read = _plain_read(definition)
            if read is not None:
                found.setdefault(named, {})[name] = read
    return found


def definition_of(object_type: GraphQLObjectType) -> StrawberryObjectDefinition | None:
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition if isinstance(definition, StrawberryObjectDefinition) else None


def by_class(types: Iterable[GraphQLObjectType]) -> dict[type, GraphQLObjectType]:
    """The Strawberry class behind each of ``types`` that a union resolves by its class alone
    (Strawberry matches the definition the class carries; a generic type's values need more
    than their class, and are left out)."""
    found: dict[type, GraphQLObjectType] = {}
    for object_type in types:
        definition = definition_of(object_type)
        if (
            definition is not None
            and not definition.is_graphql_generic
            and definition.concrete_of is None
        ):
            found[definition.origin] = object_type
    return found


def _discard(value: Any, source: Any, read: Callable[[Any], Any] | None) -> None:
    """Close ``value``, a coroutine given up, when reading it from ``source`` again makes a new
    one (the general way reads it again); a coroutine stored in the object is left alone."""
    if read is None or type(value) is not CoroutineType:
        return
    try:
        again = read(source)
    except Exception:  # noqa: BLE001 - the general way reads it again and reports this
        return
    if again is not value:
        value.close()
        if type(again) is CoroutineType:
            again.close()


def _leaf(
    coerce: Callable[[Any], Any], nullable: bool, read: Callable[[Any], Any] | None
) -> Callable[[Any, Any], Any]:
    """Complete a leaf that is not of the type's plain class: null, or coerced."""

    def complete(value: Any, source: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise Fallback
        if type(value) not in NEVER_AWAITABLE and isawaitable(value):
            _discard(value, source, read)
            raise Fallback
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        return coerced

    return complete


def _other(nullable: bool, read: Callable[[Any], Any] | None) -> Callable[[Any, Any], Any]:
    """Complete an object or list that is not of the expected class: only null goes."""

    def complete(value: Any, source: Any) -> Any:
        if value is None and nullable:
            return None
        _discard(value, source, read)
        raise Fallback

    return complete


def _discard_items(read: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    """Close the coroutines of a list given up when reading it again makes a new list."""

    def discard(value: Any, source: Any) -> None:
        if type(value) is not list:
            return  # given up before its items were looked at (and closed if need be)
        try:
            again = read(source)
        except Exception:  # noqa: BLE001 - the general way reads it again and reports this
            return
        if again is value:
            return
        for item in (*value, *(again if type(again) is list else (again,))):
            if type(item) is CoroutineType:
                item.close()

    return discard


FAST_LEAVES: Mapping[Any, str] = {
    GraphQLString: "type({v}) is str",
    GraphQLID: "type({v}) is str",
    GraphQLBoolean: "type({v}) is bool",
    GraphQLInt: f"(type({{v}}) is int and {INT_MIN} <= {{v}} <= {INT_MAX})",
}
"""The test under which a leaf value goes as it is, by built-in scalar."""


class Request(NamedTuple):
    """What collecting fields needs from the request (the executor's attributes)."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDetails]
    variable_values: VariableValues
    operation: Any
    hide_suggestions: bool


class _Compilation:
    """The source of the functions of one compiled selection, and the values they use."""

    def __init__(self, plans: Plans, request: Request) -> None:
        self.plans = plans
        self.request = request
        self.names: dict[str, Any] = {
            "Fallback": Fallback,
            "CAST": TYPE_CAST_ATTRIBUTE,
            "list": list,
            "type": type,
            "getattr": getattr,
        }
        self.source: list[str] = []
        self.fields = 0
        self.functions: dict[tuple[GraphQLObjectType, int], str] = {}
        self.dispatches: dict[str, dict[type, str]] = {}

    def name(self, value: Any, prefix: str) -> str:
        """A fresh global name for ``value`` in the generated source."""
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def completer(self, return_type: GraphQLOutputType, fdl: FieldDetailsList) -> str:
        """The name of the function that completes a value of ``return_type`` (not read by
        compiled code: given up, it is not closed)."""
        expression = self.expression("v", return_type, fdl, None, 0)
        name = self.name(None, "c")
        self.source += [f"def {name}(v):", f"    return {expression}", ""]
        return name

    def expression(
        self,
        var: str,
        return_type: GraphQLOutputType,
        fdl: FieldDetailsList,
        read: Callable[[Any], Any] | None,
        depth: int,
    ) -> str:
        """A Python expression that completes ``var``, a value of ``return_type`` that ``read``
        read from ``s`` (None: not read here)."""
        nullable = not isinstance(return_type, GraphQLNonNull)
        named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        source = "s" if read is not None else "None"
        if is_leaf_type(named):
            handler = self.name(_leaf(named.coerce_output_value, nullable, read), "L")
            fast = FAST_LEAVES.get(named)
            if fast is None:
                return f"{handler}({var}, {source})"
            return f"({var} if {fast.format(v=var)} else {handler}({var}, {source}))"
        other = f"{self.name(_other(nullable, read), 'H')}({var}, {source})"
        if isinstance(named, GraphQLList):
            item = f"i{depth}"
            inner = self.expression(item, named.of_type, fdl, None, depth + 1)
            return f"([{inner} for {item} in {var}] if type({var}) is list else {other})"
        if isinstance(named, GraphQLObjectType):
            function = self.object_function(named, fdl)
            tests = " or ".join(
                f"type({var}) is {self.name(cls, 'K')}" for cls in self.classes(named)
            )
            return f"({function}({var}) if {tests} else {other})"
        if isinstance(named, GraphQLUnionType):
            dispatch = self.name(None, "U")
            self.dispatches[dispatch] = {
                cls: self.object_function(member, fdl)
                for cls, member in by_class(named.types).items()
            }
            return f"({dispatch}[type({var})]({var}) if type({var}) in {dispatch} else {other})"
        raise NotCompilable(f"{named} is an interface")

    def classes(self, object_type: GraphQLObjectType) -> list[type]:
        """The classes a value of ``object_type`` may have here: its Strawberry class (and the
        generic class it specializes)."""
        definition = definition_of(object_type)
        if definition is None or definition.is_type_of is not None:
            raise NotCompilable(f"{object_type} is not a plain Strawberry type")
        classes = [definition.origin]
        if definition.concrete_of is not None:
            classes.append(definition.concrete_of.origin)
        if any(hasattr(cls, "__await__") or hasattr(cls, TYPE_CAST_ATTRIBUTE) for cls in classes):
            raise NotCompilable(f"{object_type}'s class is awaitable or cast")
        return classes

    def object_function(self, object_type: GraphQLObjectType, fdl: FieldDetailsList) -> str:
        """The name of the function that builds the result dict of an object of
        ``object_type`` for the sub-selection of ``fdl``."""
        key = (object_type, id(fdl))
        found = self.functions.get(key)
        if found is not None:
            return found
        self.classes(object_type)  # a union member, too, must be a plain Strawberry type
        name = self.functions[key] = self.name(None, "o")
        request = self.request
        collected = collect_subfields(
            request.schema,
            request.fragments,
            request.variable_values,
            request.operation,
            object_type,
            fdl,
            request.hide_suggestions,
        )
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise NotCompilable("@defer")
        reads = self.plans.reads.get(object_type, {})
        lines = [f"def {name}(s):"]
        if object_type.is_type_of is not None or object_type in self.plans.union_members:
            lines.append("    if getattr(s, CAST, None) is not None: raise Fallback")
        keys: list[str] = []
        for number, (response_key, group) in enumerate(collected.grouped_field_set.items()):
            self.fields += 1
            if self.fields > MAX_FIELDS:
                raise NotCompilable("too many fields")
            if any(details.defer_usage or details.fragment_variable_values for details in group):
                raise NotCompilable("@defer or fragment variables")
            result = f"r{number}"
            keys.append(f"{response_key!r}: {result}")
            field_name = group[0].node.name.value
            if field_name == "__typename":
                lines.append(f"    {result} = {object_type.name!r}")
                continue
            plain = reads.get(field_name)
            field_type = object_type.fields[field_name].type if plain else None
            if plain is None or field_type is None:
                raise NotCompilable(f"{object_type}.{field_name} is not plain")
            attribute = plain.attribute
            if attribute and attribute.isidentifier() and not keyword.iskeyword(attribute):
                lines.append(f"    v = s.{attribute}")
            else:
                lines.append(f"    v = {self.name(plain.read, 'M')}(s)")
            expression = self.expression("v", field_type, group, plain.read, 1)
            if isinstance(get_nullable_type(field_type), GraphQLList):
                lines += [
                    "    try:",
                    f"        {result} = {expression}",
                    "    except Exception:",
                    f"        {self.name(_discard_items(plain.read), 'D')}(v, s)",
                    "        raise",
                ]
            else:
                lines.append(f"    {result} = {expression}")
        lines += [f"    return {{{', '.join(keys)}}}", ""]
        self.source += lines
        return name

    def build(self, entry: str) -> Callable[[Any], Any]:
        """The function named ``entry``, with every function of the source defined."""
        namespace = dict(self.names)
        code = compile("\n".join(self.source), "<compiled selection>", "exec")
        exec(code, namespace)  # noqa: S102 - the source is generated above, names from the schema
        for dispatch, members in self.dispatches.items():
            namespace[dispatch] = {cls: namespace[function] for cls, function in members.items()}
        completer: Callable[[Any], Any] = namespace[entry]
        return completer


SKIP_AND_INCLUDE = frozenset({"skip", "include"})


@dataclass(eq=False)
class Selection:
    """The compiled variants of one selection, by the values of the variables its
    ``@skip``/``@include`` read. Holds the field nodes its key names by id, and the fragment
    definitions it spreads (a request with other definitions under those names has another
    document, and is not given these variants)."""

    nodes: tuple[FieldNode, ...]
    fragments: tuple[tuple[str, FragmentDefinitionNode], ...]
    variables: tuple[str, ...]
    compilable: bool
    variants: dict[tuple[Any, ...], Callable[[Any], Any] | None] = field(default_factory=dict)
    seen: set[tuple[Any, ...]] = field(default_factory=set)
    """Variants asked for once (compiled when asked for again: a document sent once is not
    worth compiling)."""

    def same_fragments(self, fragments: Mapping[str, FragmentDetails]) -> bool:
        for name, definition in self.fragments:
            found = fragments.get(name)
            if found is None or found.definition is not definition:
                return False
        return True


def _walk(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDetails],
    spread: dict[str, FragmentDefinitionNode],
    variables: dict[str, None],
) -> bool:
    """Note the fragments spread and the variables ``@skip``/``@include`` read anywhere under
    ``selection_set``; False when some other directive or a fragment with variables is
    there."""
    if selection_set is None:
        return True
    for selection in selection_set.selections:
        for directive in selection.directives or ():
            if directive.name.value not in SKIP_AND_INCLUDE:
                return False
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    variables[argument.value.name.value] = None
        if isinstance(selection, FieldNode | InlineFragmentNode):
            if not _walk(selection.selection_set, fragments, spread, variables):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in spread:
                continue
            details = fragments.get(name)
            if details is None or details.variable_signatures or selection.arguments:
                return False
            spread[name] = details.definition
            if not _walk(details.definition.selection_set, fragments, spread, variables):
                return False
    return True


@dataclass(eq=False)
class Plans:
    """The compiled selections of one schema, in a bounded LRU, with counters of their use."""

    schema: GraphQLSchema
    size: int = 256
    reads: dict[GraphQLObjectType, dict[str, PlainRead]] = field(init=False)
    union_members: frozenset[GraphQLObjectType] = field(init=False)
    selections: OrderedDict[tuple[int, tuple[int, ...]], Selection] = field(
        init=False, default_factory=OrderedDict
    )
    completed: int = 0
    """Values completed by compiled code."""
    fallbacks: int = 0
    """Values compiled code gave up (completed the general way instead)."""

    def __post_init__(self) -> None:
        self.reads = plain_reads(self.schema)
        self.union_members = frozenset(
            member
            for named in self.schema.type_map.values()
            if isinstance(named, GraphQLUnionType)
            for member in named.types
        )

    def completer(
        self, return_type: GraphQLOutputType, fdl: FieldDetailsList, request: Request
    ) -> Callable[[Any], Any] | None:
        """The compiled completion of a value of ``return_type`` with the sub-selection of
        ``fdl`` in ``request``, or None when it cannot be compiled."""
        if not _object_inside(return_type) or any(
            details.defer_usage or details.fragment_variable_values for details in fdl
        ):
            return None
        nodes = tuple(details.node for details in fdl)
        key = (id(return_type), tuple(map(id, nodes)))
        selection = self.selections.get(key)
        if selection is None:
            selection = self.selection(nodes, request)
            self.selections[key] = selection
            if len(self.selections) > self.size:
                self.selections.popitem(last=False)
        else:
            self.selections.move_to_end(key)
        if not selection.compilable or not selection.same_fragments(request.fragments):
            return None
        coerced = request.variable_values.coerced
        try:
            values = tuple(coerced.get(name, Undefined) for name in selection.variables)
            if values in selection.variants:
                return selection.variants[values]
            if values not in selection.seen:
                if len(selection.seen) < MAX_VARIANTS:
                    selection.seen.add(values)
                return None
        except TypeError:  # a value that is not hashable
            return None
        compiled: Callable[[Any], Any] | None
        try:
            compilation = _Compilation(self, request)
            compiled = compilation.build(compilation.completer(return_type, fdl))
        except NotCompilable:
            compiled = None
        selection.variants[values] = compiled
        return compiled

    @staticmethod
    def selection(nodes: tuple[FieldNode, ...], request: Request) -> Selection:
        spread: dict[str, FragmentDefinitionNode] = {}
        variables: dict[str, None] = {}
        compilable = all(
            _walk(node.selection_set, request.fragments, spread, variables) for node in nodes
        )
        return Selection(nodes, tuple(spread.items()), tuple(variables), compilable)


def _object_inside(return_type: GraphQLOutputType) -> bool:
    """Whether ``return_type`` is an object or union type, or a list of them (possibly
    non-null)."""
    named: Any = return_type
    while isinstance(named, GraphQLNonNull | GraphQLList):
        named = named.of_type
    return isinstance(named, GraphQLObjectType | GraphQLUnionType)
