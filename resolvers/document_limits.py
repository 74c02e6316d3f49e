"""What a GraphQL document asks for, measured in one pass: linear in the document's size.

Standard depth and alias validators walk a fragment again at every spread, so a document whose
fragments each spread the previous one twice (``fragment F1 on User { ...F0 ...F0 }``, 30
levels in a few hundred tokens) makes them walk 2^30 selections. Here each fragment is measured
once and its measure reused at every spread; a fragment spread while it is being measured (a
cycle, which the standard ``NoFragmentCycles`` rule reports) counts as empty, so the walk ends.

Two measures:

* ``count_spreads`` and ``measure_document``: the **shape** of the whole document, independent
  of variables: fragment spreads, depth, aliases, the widest selection set (fields in one
  selection set with its fragments expanded) and the response key selected most often in one
  selection set (merging same-named fields is quadratic in their number).
* ``query_cost``: the **cost** of the operation that runs: each field costs 1, and the cost
  of a list's selection is multiplied by the list's size: a paged field's page size
  (``first``/``last``, variables resolved, else the default page size; never more than the
  maximum page size), ``UNPAGED_LIST_SIZE`` for any other list of objects. Introspection
  (``__schema``, ``__type``, ``__typename``) is free: its size is the schema's, not the data's.

Counts saturate at ``CEILING``, so a hostile document yields a large number, not a huge one.

See docs/hardening.md#graphql-limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

CEILING = 10**12
"""Every count stops growing here (JSON numbers stay exact, messages stay readable)."""

UNPAGED_LIST_SIZE = 10
"""The size assumed for a list of objects that takes no page size (a user's permissions,
a payload's userErrors)."""

PAGE_ARGUMENTS = ("first", "last")

Measure = TypeVar("Measure")


@dataclass(frozen=True, slots=True)
class Shape:
    """The measure of one selection set, its fragments expanded."""

    depth: int = 0
    """Levels of fields with a selection set below (a leaf field adds none)."""
    aliases: int = 0
    keys: Mapping[str, int] = field(default_factory=dict)
    """How often each response key (alias or field name) is selected directly in this
    selection set, counting what its fragments bring."""
    widest: int = 0
    """The most fields in this selection set or any within it."""
    repeated: tuple[int, str] = (0, "")
    """The most often one response key is selected in one selection set here or within, and
    that key."""


EMPTY = Shape()


@dataclass(frozen=True, slots=True)
class DocumentShape:
    depth: dict[str, int]
    """Per operation (by name, ``anonymous`` without one), as depth limiters report it."""
    aliases: int
    widest: int
    repeated: tuple[int, str]


def _saturate(value: int) -> int:
    return min(value, CEILING)


def operation_label(operation: OperationDefinitionNode) -> str:
    return operation.name.value if operation.name else "anonymous"


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


class _FragmentMemo(Generic[Measure]):
    """Measures each fragment once, at its first spread; a fragment spread while it is being
    measured (a cycle), or one that does not exist, measures as ``nothing``."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], nothing: Measure) -> None:
        self.fragments = fragments
        self.nothing = nothing
        self.measured: dict[str, Measure] = {}
        self.in_progress: set[str] = set()

    def fragment(self, name: str) -> Measure:
        if name in self.measured:
            return self.measured[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return self.nothing  # the standard rules report it
        self.in_progress.add(name)
        measure = self.measure_fragment(definition)
        self.in_progress.discard(name)
        self.measured[name] = measure
        return measure

    def measure_fragment(self, definition: FragmentDefinitionNode) -> Measure:
        raise NotImplementedError


class _ShapeWalk(_FragmentMemo[Shape]):
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        super().__init__(fragments, EMPTY)

    def measure_fragment(self, definition: FragmentDefinitionNode) -> Shape:
        return self.selection_set(definition.selection_set)

    def selection_set(self, selection_set: SelectionSetNode) -> Shape:
        depth = aliases = widest = 0
        keys: dict[str, int] = {}
        repeated = (0, "")
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                keys[key] = keys.get(key, 0) + 1
                aliases += selection.alias is not None
                if selection.selection_set is None:
                    continue
                child = self.selection_set(selection.selection_set)
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + child.depth)
            else:
                if isinstance(selection, FragmentSpreadNode):
                    child = self.fragment(selection.name.value)
                elif isinstance(selection, InlineFragmentNode):
                    child = self.selection_set(selection.selection_set)
                else:  # graphql-core has no other kind of selection
                    continue
                depth = max(depth, child.depth)
                for key, count in child.keys.items():
                    keys[key] = _saturate(keys.get(key, 0) + count)
            aliases += child.aliases
            widest = max(widest, child.widest)
            repeated = max(repeated, child.repeated)
        here = max(((count, key) for key, count in keys.items()), default=(0, ""))
        width = _saturate(sum(keys.values()))
        return Shape(
            depth=depth,
            aliases=_saturate(aliases),
            keys=keys,
            widest=max(widest, width),
            repeated=max(repeated, here),
        )


def count_spreads(document: DocumentNode) -> int:
    """Fragment spreads written in ``document`` (each ``...Name`` once, however it is used);
    counted first, so that measuring the document merges a bounded number of fragments."""
    count = 0
    pending = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                count += 1
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return count


def measure_document(document: DocumentNode) -> DocumentShape:
    """The shape of every operation and fragment of ``document``; each fragment is walked once.

    Raises:
        RecursionError: selections nested deeper than the interpreter's stack.
    """
    walk = _ShapeWalk(fragments_of(document))
    depth: dict[str, int] = {}
    aliases = widest = 0
    repeated = (0, "")
    shapes = []
    for operation in operations_of(document):
        shape = walk.selection_set(operation.selection_set)
        depth[operation_label(operation)] = shape.depth
        aliases += shape.aliases
        shapes.append(shape)
    # Unused fragments are validated too: measure them as well.
    shapes += [walk.fragment(name) for name in walk.fragments]
    for shape in shapes:
        widest = max(widest, shape.widest)
        repeated = max(repeated, shape.repeated)
    return DocumentShape(depth=depth, aliases=_saturate(aliases), widest=widest, repeated=repeated)


@lru_cache(maxsize=8)
def page_types(schema: GraphQLSchema) -> frozenset[str]:
    """The types that paged fields return (connections): their lists are the page itself."""
    found: set[str] = set()
    for named in schema.type_map.values():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for candidate in named.fields.values():
                if any(argument in candidate.args for argument in PAGE_ARGUMENTS):
                    found.add(get_named_type(candidate.type).name)
    return frozenset(found)


class _CostWalk(_FragmentMemo[int]):
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        default_page_size: int,
        max_page_size: int,
    ) -> None:
        super().__init__(fragments, 0)
        self.schema = schema
        self.variables = variables
        self.defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.page_types = page_types(schema)

    def measure_fragment(self, definition: FragmentDefinitionNode) -> int:
        on = self.schema.get_type(definition.type_condition.name.value)
        return self.selection_set(definition.selection_set, on)

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, on)
        return _saturate(total)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1  # a field the standard rules will refuse
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:
            return 1  # a scalar, or a field the standard rules will refuse
        inner = self.selection_set(node.selection_set, get_named_type(definition.type))
        return _saturate(1 + self.size(node, definition, parent) * inner)

    def size(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType) -> int:
        if any(argument in definition.args for argument in PAGE_ARGUMENTS):
            return self.page_size(node)
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        return 1 if parent.name in self.page_types else UNPAGED_LIST_SIZE

    def page_size(self, node: FieldNode) -> int:
        """As the resolver computes it: ``first`` or ``last``, else the default, at most the
        maximum (an argument that is not a number yet fails later, at coercion)."""
        wanted = [
            value
            for argument in node.arguments or ()
            if argument.name.value in PAGE_ARGUMENTS
            and (value := self.integer(argument.value)) is not None
        ]
        size = max(wanted) if wanted else self.default_page_size
        return max(0, min(size, self.max_page_size))

    def integer(self, value: ValueNode | None) -> int | None:
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in self.variables:
                given = self.variables[name]
                return given if isinstance(given, int) and not isinstance(given, bool) else None
            return self.integer(self.defaults.get(name))
        if isinstance(value, IntValueNode):
            try:
                return int(value.value)
            except ValueError:  # pragma: no cover - the parser only yields digits
                return None
        return None


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    default_page_size: int,
    max_page_size: int,
) -> int:
    """The cost of running ``operation`` of ``document`` with ``variables``."""
    walk = _CostWalk(
        schema,
        fragments_of(document),
        operation,
        variables if isinstance(variables, Mapping) else {},
        default_page_size,
        max_page_size,
    )
    root = schema.get_root_type(operation.operation)
    return walk.selection_set(operation.selection_set, root)
