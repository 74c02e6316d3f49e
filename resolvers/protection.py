"""Limits on what one request may ask, and the parser and validation caches.

Everything is on by default and sized by settings (``graphql_max_depth``,
``graphql_max_aliases``, ``graphql_max_tokens``, ``graphql_introspection``).

The validation rule classes are built **once per schema**: Strawberry's depth and alias
limiters build a new rule class in every constructor, and the validation cache is keyed on
the tuple of rule classes, so an extension built per request (as Strawberry now requires)
would never hit the cache. Here one ``AddValidationRules`` factory hands every request the
same classes; the caches are Strawberry's own, passed as factories, and their LRU lives at
module level, shared by every request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from graphql import ASTValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from gql_users.settings import Settings

CACHE_SIZE = 256
"""Distinct documents kept parsed and validated (LRU; bounded so unique documents cannot grow
memory without limit)."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    introspection: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            introspection=settings.graphql_introspection,
        )


def validation_rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    """The extra validation rules for ``limits``; call once and reuse the result."""
    rules: list[type[ASTValidationRule]] = [
        depth_rule(limits.max_depth, None),
        alias_rule(limits.max_aliases),
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def protection_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Extension factories, in the order they must run: rules and parse options are set when
    the operation starts, then parsing and validation read them (through the caches)."""
    rules = list(validation_rules(limits))
    return [
        partial(AddValidationRules, rules),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(ParserCache, maxsize=CACHE_SIZE),
        partial(ValidationCache, maxsize=CACHE_SIZE),
    ]
