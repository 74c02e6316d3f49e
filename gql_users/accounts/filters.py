"""The user list filters: a typed value and its SQL.

``UserFilter`` is what both APIs build: the REST shim from the query string
(``gql_users.rest.query``, with Waldur's parsing quirks), GraphQL from its typed input.
``apply_filter`` turns it into WHERE conditions; every condition is on ``users`` or an
``IN (subquery)``, never a join, so no user appears twice and the count needs no DISTINCT.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TypeAlias

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, false, or_, select
from sqlalchemy.orm import QueryableAttribute

from gql_users.accounts.callers import Caller
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.grants import is_current
from gql_users.accounts.validation import NULL_CHARACTERS, max_length_message
from gql_users.db.folding import fold_ascii
from gql_users.db.models import Customer, Project, Role, User, UserRole
from gql_users.db.search import prefiltered

MAX_FILTER_LENGTH = 8_190
"""The longest filter value, in characters; for a list, its items joined by commas (as REST's
``username_list`` sends them). aiohttp refuses request lines over 8,190 bytes, so no REST filter
can be longer; GraphQL, whose filters arrive in a body, gets the same bound. An unbounded value
would reach the database as a LIKE pattern or a parameter of any size
(docs/hardening.md#graphql-limits)."""


def _filter_length(items: Sequence[object]) -> int:
    """The characters a filter value takes as REST would send it (list items comma-joined)."""
    texts = [item for item in items if isinstance(item, str)]
    return sum(map(len, texts)) + max(len(texts) - 1, 0)


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Every filter of the user list; None (or an empty tuple for the role lists) means "no filter".

    ``username_list`` is different: None means no filter, while an empty tuple means "a list
    was given but held no usernames", which Waldur answers with an empty result.
    """

    username: str | None = None
    username_list: tuple[str, ...] | None = None
    full_name: str | None = None
    user_keyword: str | None = None
    query: str | None = None
    native_name: str | None = None
    organization: str | None = None
    job_title: str | None = None
    email: str | None = None
    phone_number: str | None = None
    description: str | None = None
    civil_number: str | None = None
    registration_method: str | None = None
    is_active: bool | None = None
    is_staff: bool | None = None
    is_support: bool | None = None
    date_joined: datetime | None = None
    modified: datetime | None = None
    agreement_date: datetime | None = None
    customer_uuid: uuid.UUID | None = None
    project_uuid: uuid.UUID | None = None
    organization_roles: tuple[str, ...] = ()
    project_roles: tuple[str, ...] = ()

    @property
    def role_names(self) -> tuple[str, ...]:
        """Both role lists together: Waldur treats the two parameters as one filter
        (docs/rest.md#filters)."""
        return tuple(dict.fromkeys(self.organization_roles + self.project_roles))

    @property
    def given(self) -> tuple[str, ...]:
        """The names of the filters that apply, in field order."""
        return tuple(
            field.name
            for field in fields(self)
            if getattr(self, field.name) is not None
            and (getattr(self, field.name) != () or field.name == "username_list")
        )

    @classmethod
    def from_values(cls, values: Mapping[str, object]) -> UserFilter:
        """Build from values an API has already typed (GraphQL's filter input), normalised as
        the REST shim normalises query strings, so that both APIs filter alike.

        None and an empty string mean "no filter" (as an empty query parameter does); list
        items are stripped and blank ones dropped, so an empty ``username_list`` still
        matches nobody while an empty role list filters nothing; text holding NUL is refused.

        Raises:
            ValidationFailed: ``{"name": ["Null characters are not allowed."]}`` per filter, or
                the length message for a value longer than ``MAX_FILTER_LENGTH``.
        """
        kept = typed_filter_values(values)
        # Each value was checked under its own field name; a dict of mixed value types cannot
        # carry one type per key, so mypy sees object for every field.
        return cls(**kept)  # type: ignore[arg-type]


def typed_filter_values(values: Mapping[str, object]) -> dict[str, object]:
    """The filters of ``values`` that apply, normalised as ``UserFilter.from_values`` says
    (shared with the customer and project filters of ``gql_users.accounts.scopes``).

    Raises:
        ValidationFailed: a value holding NUL, or longer than ``MAX_FILTER_LENGTH``.
    """
    kept: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        items = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(item, str) and "\x00" in item for item in items):
            errors[name] = [NULL_CHARACTERS]
        elif _filter_length(items) > MAX_FILTER_LENGTH:
            errors[name] = [max_length_message(MAX_FILTER_LENGTH)]
        elif isinstance(value, list | tuple):
            stripped = (str(item).strip() for item in value)
            kept[name] = tuple(dict.fromkeys(item for item in stripped if item))
        elif value is not None and value != "":
            kept[name] = value
    if errors:
        raise ValidationFailed(errors)
    return kept


FILTER_READS: dict[str, tuple[str, ...]] = {
    "username": ("username",),
    "username_list": ("username",),
    "full_name": ("full_name",),
    "user_keyword": ("full_name", "email", "username"),
    "query": ("first_name", "last_name", "civil_number", "username", "email"),
    "native_name": ("native_name",),
    "organization": ("organization",),
    "job_title": ("job_title",),
    "email": ("email",),
    "phone_number": ("phone_number",),
    "description": ("description",),
    "civil_number": ("civil_number",),
    "registration_method": ("registration_method",),
    "is_active": ("is_active",),
    "is_staff": ("is_staff",),
    "is_support": ("is_support",),
    "date_joined": ("date_joined",),
    "modified": ("modified",),
    "agreement_date": ("agreement_date",),
    "customer_uuid": ("permissions",),
    "project_uuid": ("permissions",),
    "organization_roles": ("permissions",),
    "project_roles": ("permissions",),
}
"""The user fields (``shaping.USER_FIELDS`` names) whose values each filter compares. The
membership filters read the roles, which ``permissions`` shows; ``modified`` is a value that
no response shows."""


def icontains(column: SQLColumnExpression[str | None], value: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with ``%`` and ``_`` in ``value`` taken literally.

    ``lower(column) LIKE '%' || lower(:value) || '%'`` on SQLite and ``column ILIKE '%' ||
    :value || '%'`` on PostgreSQL behave alike for ASCII; SQLite's ``lower()`` leaves non-ASCII
    letters alone, PostgreSQL folds them. On PostgreSQL the trigram index of ``column``
    (``models.POSTGRESQL_TRIGRAM_INDEXES``) serves the match, so ``column`` must be a bare
    column that has one; on SQLite the search table does (``_matching_ids``).
    """
    return column.icontains(value, autoescape=True)


@dataclass(frozen=True, slots=True)
class Substring:
    """``value`` anywhere in ``column`` (one of ``models.SEARCHED_COLUMNS``), ignoring case:
    ``icontains``."""

    column: QueryableAttribute[str | None]
    value: str


Search: TypeAlias = tuple[Substring, ...]
"""A substring filter: the row matches if it holds one of these substrings."""


def apply_filter(statement: Select[User], user_filter: UserFilter, caller: Caller) -> Select[User]:
    """Add the conditions of ``user_filter`` to a ``SELECT users`` (all combined with AND).

    Args:
        statement: usually ``visible_users(caller)``.
        user_filter: the filters to apply.
        caller: decides whether ``is_staff``/``is_support`` filter or empty the result.

    Returns:
        The statement with extra WHERE conditions.
    """
    return statement.where(*filter_conditions(user_filter, caller))


def filter_conditions(user_filter: UserFilter, caller: Caller) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``user_filter``, for callers that compose their own statement."""
    f = user_filter
    conditions: list[ColumnElement[bool]] = []
    searches: list[Search] = []  # the substring matches: see _matching_ids
    if f.username is not None:
        conditions.append(User.username == f.username)
    if f.username_list is not None:
        conditions.append(User.username.in_(f.username_list) if f.username_list else false())
    if f.full_name is not None:
        searches.append((Substring(User.query_field, fold_ascii(f.full_name)),))
    if f.user_keyword is not None:
        searches.append(
            (
                Substring(User.query_field, fold_ascii(f.user_keyword)),
                Substring(User.email, f.user_keyword),
                Substring(User.username, f.user_keyword),
            )
        )
    if f.query is not None:
        searches.append(_query_search(f.query))
    for column, value in (
        (User.native_name, f.native_name),
        (User.organization, f.organization),
        (User.job_title, f.job_title),
        (User.email, f.email),
    ):
        if value is not None:
            searches.append((Substring(column, value),))
    for exact_column, exact_value in (
        (User.phone_number, f.phone_number),
        (User.description, f.description),
        (User.civil_number, f.civil_number),
        (User.registration_method, f.registration_method),
    ):
        if exact_value is not None:
            conditions.append(exact_column == exact_value)
    if f.is_active is not None:
        conditions.append(User.is_active == f.is_active)
    for flag_column, flag in ((User.is_staff, f.is_staff), (User.is_support, f.is_support)):
        if flag is not None:
            # Only staff and support may ask who is staff or support; anyone else asking gets
            # an empty list whatever the value (docs/rest.md#filters), so the answer reveals
            # nothing.
            conditions.append(flag_column == flag if caller.is_privileged else false())
    for date_column, since in (
        (User.date_joined, f.date_joined),
        (User.modified, f.modified),
        (User.agreement_date, f.agreement_date),
    ):
        if since is not None:
            conditions.append(date_column >= since)
    if f.customer_uuid is not None:
        conditions.append(User.id.in_(_customer_member_ids(f.customer_uuid)))
    if f.project_uuid is not None:
        conditions.append(User.id.in_(_project_member_ids(f.project_uuid)))
    if f.role_names:
        conditions.append(User.id.in_(_role_holder_ids(f.role_names)))
    if searches:
        conditions.append(User.id.in_(_matching_ids(searches)))
    return conditions


def _matching_ids(searches: Sequence[Search]) -> Select[int]:
    """The ids of the users matching every substring search, computed once per statement.

    A materialized CTE, so that the database finds the matches first (by the trigram indexes
    on PostgreSQL, by the trigram search table on SQLite) and only then orders, pages and
    counts them: left inline, a selective search on a page ordered by username walks the
    ordering's index and tests every row against each substring, and the page and its total
    each search again. On SQLite the search table only narrows the rows that the ``icontains``
    conditions then test (``search.prefiltered``): it cannot serve a substring shorter than
    three characters, and it folds more than SQLite's ``lower()``; such a search scans.
    """
    condition = and_(*(or_(*(icontains(s.column, s.value) for s in search)) for search in searches))
    terms = [[(s.column.key, s.value) for s in search] for search in searches]
    matches = (
        select(User.id)
        .where(prefiltered(condition, terms))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    return select(matches.c.id)


def _query_search(value: str) -> Search:
    """icontains on first/last name, civil number, username or email; with two or more words,
    word 1 in first_name OR word 2 in last_name also matches (a widening, as in Waldur)."""
    alternatives = [
        Substring(column, value)
        for column in (
            User.first_name,
            User.last_name,
            User.civil_number,
            User.username,
            User.email,
        )
    ]
    words = value.split()
    if len(words) > 1:
        alternatives.append(Substring(User.first_name, words[0]))
        alternatives.append(Substring(User.last_name, words[1]))
    return tuple(alternatives)


def _customer_member_ids(customer_uuid: uuid.UUID) -> Select[int]:
    """Users with an active role in the customer itself or in any of its projects."""
    customer_id = select(Customer.id).where(Customer.uuid == customer_uuid).scalar_subquery()
    project_ids = select(Project.id).where(Project.customer_id == customer_id)
    return select(UserRole.user_id).where(
        is_current(UserRole),
        or_(UserRole.customer_id == customer_id, UserRole.project_id.in_(project_ids)),
    )


def _project_member_ids(project_uuid: uuid.UUID) -> Select[int]:
    project_id = select(Project.id).where(Project.uuid == project_uuid).scalar_subquery()
    return select(UserRole.user_id).where(is_current(UserRole), UserRole.project_id == project_id)


def _role_holder_ids(role_names: Sequence[str]) -> Select[int]:
    """Users with an active role of one of these names, in any scope."""
    return (
        select(UserRole.user_id)
        .join(Role, Role.id == UserRole.role_id)
        .where(is_current(UserRole), Role.name.in_(role_names))
    )
