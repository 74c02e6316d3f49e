"""Limits on what one request may ask, and the parser and validation caches.

Everything is on by default and sized by settings (``graphql_max_depth``,
``graphql_max_aliases``, ``graphql_max_tokens``, ``graphql_max_fragment_spreads``,
``graphql_max_selections``, ``graphql_max_field_repeats``, ``graphql_max_cost``,
``graphql_validation_timeout``, ``graphql_introspection``); docs/hardening.md#graphql-limits
lists each with its error.

The order matters, and each step is bounded before the next, costlier one runs:

1. Parsing stops at ``graphql_max_tokens`` tokens (cached by document text).
2. ``DocumentGuard`` refuses a document with several operations and no ``operationName``,
   counts its fragment spreads, then measures it in one linear pass (``document_limits``:
   widest selection set, most repeated field, depth, aliases) and the cost of the operation
   that would run.
3. Only then do the standard validation rules run (cached), with a time budget: a rule that
   checks the clock at every node aborts validation once the guard and the rules have spent
   ``graphql_validation_timeout`` seconds. The clock (``document_clock``) is the thread's CPU
   time (``time.thread_time``) over these synchronous steps less the time the garbage
   collector took meanwhile, so a busy machine (the process waiting for a core), other
   requests or a full collection of a large heap cannot push a simple document over the
   budget; only the document's own work can. An aborted validation is not cached.

A document that passed steps 2 and 3 is remembered (``PassedDocuments``: the parser cache
hands the very same object for the same text): its next requests only check their operation
name and the cost of their operation, which depend on the request (the operation chosen, the
variables); the spreads, the shape and the standard rules depend on the document alone.

The validation rule classes are built **once per schema**: the validation cache is keyed on
the tuple of rule classes, so classes built per request would never hit it. The caches are
Strawberry's own, and their LRU lives at module level, shared by every request.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, OperationDefinitionNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, SchemaExtension
from strawberry.extensions.validation_cache import _get_validate_cache

from gql_users.settings import Settings
from resolvers.document_limits import (
    DocumentShape,
    count_spreads,
    measure_document,
    operations_of,
    query_cost,
)
from resolvers.users.paging import DEFAULT_PAGE_SIZE

CACHE_SIZE = 256
"""Distinct documents kept parsed and validated (LRU; bounded so unique documents cannot grow
memory without limit)."""

OPERATION_NAME_REQUIRED = (
    "The document holds {count} operations; name the one to run in operationName."
)
TOO_MANY_SPREADS = "The document has {count:,} fragment spreads; at most {limit:,} are allowed."
TOO_MANY_SELECTIONS = (
    "A selection set asks for {count:,} fields (fragments expanded); at most {limit:,} are allowed."
)
REPEATED = (
    "'{field}' is selected {count:,} times in one selection set (fragments expanded); at most "
    "{limit:,} are allowed."
)
TOO_DEEP = "'{operation}' exceeds maximum operation depth of {limit}"
NESTED_TOO_DEEPLY = "The document is nested too deeply to be analysed."
TOO_MANY_ALIASES = "{count} aliases found. Allowed: {limit}"
TOO_COSTLY = "Query cost {count:,} exceeds the limit of {limit:,}."
TOO_SLOW = "Validating the document took longer than {limit:g} s; send a simpler document."


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_fragment_spreads: int
    max_selections: int
    max_field_repeats: int
    max_cost: int
    max_page_size: int
    validation_timeout: float
    introspection: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_fragment_spreads=settings.graphql_max_fragment_spreads,
            max_selections=settings.graphql_max_selections,
            max_field_repeats=settings.graphql_max_field_repeats,
            max_cost=settings.graphql_max_cost,
            max_page_size=settings.graphql_max_page_size,
            validation_timeout=settings.graphql_validation_timeout,
            introspection=settings.graphql_introspection,
        )


def limit_error(message: str, code: str, **numbers: int | float | str) -> GraphQLError:
    """A request error (no path, no location): ``extensions`` has the code and the numbers."""
    return GraphQLError(message, extensions={"code": code, **numbers})


def _over(
    count: int, limit: int, template: str, code: str, measure: str, **names: str
) -> list[GraphQLError]:
    """One error when ``count`` is above ``limit``: ``extensions`` has ``<measure>``,
    ``max<Measure>`` and ``names`` (which the message may name too)."""
    if count <= limit:
        return []
    message = template.format(count=count, limit=limit, **names)
    numbers = {measure: count, "max" + measure[0].upper() + measure[1:]: limit}
    return [limit_error(message, code, **numbers, **names)]


def shape_errors(shape: DocumentShape, limits: Limits) -> list[GraphQLError]:
    """What in the document's shape is over a limit (each limit reported once)."""
    count, key = shape.repeated
    errors = [
        *_over(
            shape.widest,
            limits.max_selections,
            TOO_MANY_SELECTIONS,
            "TOO_MANY_SELECTIONS",
            "selections",
        ),
        *_over(count, limits.max_field_repeats, REPEATED, "FIELD_REPEATED", "repeats", field=key),
    ]
    for operation, depth in shape.depth.items():
        errors += _over(
            depth, limits.max_depth, TOO_DEEP, "QUERY_TOO_DEEP", "depth", operation=operation
        )
    errors += _over(
        shape.aliases, limits.max_aliases, TOO_MANY_ALIASES, "TOO_MANY_ALIASES", "aliases"
    )
    return errors


_deadline: ContextVar[float | None] = ContextVar("graphql_validation_deadline", default=None)


class _CollectorTime(threading.local):
    """Per thread: the CPU time garbage collections have taken while timed
    (``timing_collections``), the running one's start, and how many timings are open."""

    total = 0.0
    started: float | None = None
    open = 0


_collector = _CollectorTime()


def _time_collections(phase: str, _info: dict[str, Any]) -> None:
    if not _collector.open:  # reading the thread's clock is a system call: only when needed
        return
    if phase == "start":
        _collector.started = time.thread_time()
    elif _collector.started is not None:
        _collector.total += time.thread_time() - _collector.started
        _collector.started = None


gc.callbacks.append(_time_collections)


@contextmanager
def timing_collections() -> Iterator[None]:
    """Within the block, ``document_clock`` leaves out the garbage collections of the thread
    (outside it, collections are not timed: two system calls each, dozens per request)."""
    _collector.open += 1
    try:
        yield
    finally:
        _collector.open -= 1


def document_clock() -> float:
    """The thread's CPU time less what garbage collections took (within
    ``timing_collections``): the time a document's own checks spend, whatever else the
    process holds (a full collection of a large heap can take longer than the whole budget)."""
    return time.thread_time() - _collector.total


class ValidationTimeout(Exception):
    """Raised out of ``validate`` (so the LRU cache keeps nothing) when the budget is spent."""


class ValidationDeadline(ASTValidationRule):
    """Checks the clock at every node the standard rules visit (one ``document_clock`` call)."""

    def enter(self, *_: Any) -> None:
        deadline = _deadline.get()
        if deadline is not None and document_clock() > deadline:
            raise ValidationTimeout


class PassedDocuments:
    """The documents that passed every check that depends on the document alone (its
    fragment spreads, its shape, the standard rules), by identity: the last ``size`` of them
    (LRU). It holds them, so that an id is never another document's while it is kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._documents: OrderedDict[int, DocumentNode] = OrderedDict()

    def __contains__(self, document: DocumentNode) -> bool:
        key = id(document)
        if self._documents.get(key) is not document:
            return False
        self._documents.move_to_end(key)
        return True

    def add(self, document: DocumentNode) -> None:
        self._documents[id(document)] = document
        self._documents.move_to_end(id(document))
        if len(self._documents) > self.size:
            self._documents.popitem(last=False)


class DocumentGuard(SchemaExtension):
    """Steps 2 and 3 of the module docstring, in place of Strawberry's ``ValidationCache``
    (pass a factory: Strawberry makes one per request), skipping the document's own checks
    for a document in ``passed``."""

    def __init__(self, limits: Limits, passed: PassedDocuments) -> None:
        super().__init__()
        self.limits = limits
        self.passed = passed
        self.validate = _get_validate_cache(CACHE_SIZE)

    def on_validate(self) -> Iterator[None]:
        with timing_collections():
            self.execution_context.pre_execution_errors = self.errors()
        yield

    def errors(self) -> list[GraphQLError]:
        """Every check runs synchronously from here: nothing else runs on the thread meanwhile,
        so ``document_clock`` since this point is the document's own cost."""
        started = document_clock()
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        operations = operations_of(document)
        # ``operation_name`` falls back to the first operation's name: only what the client
        # sent tells whether it chose one.
        chosen = context._provided_operation_name  # noqa: SLF001
        if chosen is None and len(operations) > 1:
            return [
                limit_error(
                    OPERATION_NAME_REQUIRED.format(count=len(operations)),
                    "OPERATION_NAME_REQUIRED",
                )
            ]
        passed = document in self.passed
        if not passed:
            errors = self.document_errors(document)
            if errors:
                return errors
        operation = self.operation(operations)
        if operation is not None:
            cost = query_cost(
                context.schema._schema,
                document,
                operation,
                context.variables,
                default_page_size=DEFAULT_PAGE_SIZE,
                max_page_size=self.limits.max_page_size,
            )
            too_costly = _over(cost, self.limits.max_cost, TOO_COSTLY, "QUERY_TOO_COSTLY", "cost")
            if too_costly:
                return too_costly
        if passed:
            return []
        errors = self.standard_validation(started)
        if not errors:
            self.passed.add(document)
        return errors

    def document_errors(self, document: DocumentNode) -> list[GraphQLError]:
        """What in the document alone is over a limit: its fragment spreads, then its shape."""
        spreads = count_spreads(document)
        too_many_spreads = _over(
            spreads,
            self.limits.max_fragment_spreads,
            TOO_MANY_SPREADS,
            "TOO_MANY_FRAGMENT_SPREADS",
            "spreads",
        )
        if too_many_spreads:
            return too_many_spreads
        try:
            shape = measure_document(document)
        except RecursionError:
            return [limit_error(NESTED_TOO_DEEPLY, "QUERY_TOO_DEEP")]
        return shape_errors(shape, self.limits)

    def operation(
        self, operations: list[OperationDefinitionNode]
    ) -> OperationDefinitionNode | None:
        name = self.execution_context._provided_operation_name  # noqa: SLF001
        if name is None:
            return operations[0] if operations else None
        return next((op for op in operations if op.name and op.name.value == name), None)

    def standard_validation(self, started: float) -> list[GraphQLError]:
        context = self.execution_context
        timeout = self.limits.validation_timeout
        token = _deadline.set(started + timeout)
        try:
            return list(
                self.validate(
                    context.schema._schema, context.graphql_document, context.validation_rules
                )
            )
        except ValidationTimeout:
            return [
                limit_error(
                    TOO_SLOW.format(limit=timeout), "VALIDATION_TIMEOUT", timeoutSeconds=timeout
                )
            ]
        finally:
            _deadline.reset(token)


def validation_rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    """The extra validation rules for ``limits``; call once and reuse the result."""
    rules: list[type[ASTValidationRule]] = [ValidationDeadline]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def protection_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Extension factories, in the order they must run: rules and parse options are set when
    the operation starts, then parsing and validation read them (through the caches)."""
    return [
        partial(AddValidationRules, list(validation_rules(limits))),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(DocumentGuard, limits, PassedDocuments(CACHE_SIZE)),
        partial(ParserCache, maxsize=CACHE_SIZE),
    ]
