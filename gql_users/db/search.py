"""SQLite: the trigram full-text table that serves the substring filters of the user list.

PostgreSQL answers the substring (``icontains``) filters from trigram indexes (migration 0005);
SQLite's ``lower(column) LIKE '%' || :value || '%'`` can use no index and reads every row. So on
SQLite, migration 0007 creates ``users_search``: an FTS5 table with the ``trigram`` tokenizer
over the ``SEARCHED_COLUMNS``, with external content (it indexes the rows of ``users`` and
stores no copy of their text), kept in step by triggers on every insert, update and delete of a
user, whichever code writes it. It needs SQLite 3.34 or later built with FTS5; without, the
migration skips it (with a warning) and the filters scan as before.

The table is only a prefilter (``prefiltered``): the rows it finds for a substring are a
superset of those the exact condition matches, because it folds case at least as far as
SQLite's ``lower()`` and ``LIKE`` (ASCII letters; it also folds other scripts' letters), so the
exact condition, applied to those rows only, decides, and every answer is the one a scan gives.
A substring shorter than three characters has no trigram, and the table cannot serve it: such a
search keeps the scan.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Sequence
from contextlib import closing
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.sql.visitors import InternalTraversal

from gql_users.db.models import SEARCHED_COLUMNS, User

SEARCH_TABLE = "users_search"
MIN_SUBSTRING_LENGTH = 3
"""The shortest substring the trigram table can find: a shorter one holds no trigram."""

_columns = ", ".join(SEARCHED_COLUMNS)


def _values(row: str) -> str:
    return ", ".join(f"{row}.{column}" for column in SEARCHED_COLUMNS)


_INSERT_NEW = f"INSERT INTO {SEARCH_TABLE}(rowid, {_columns}) VALUES (new.id, {_values('new')});"
_DELETE_OLD = (
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, {_columns}) "
    f"VALUES ('delete', old.id, {_values('old')});"
)

TRIGGER_STATEMENTS = (
    f"CREATE TRIGGER {SEARCH_TABLE}_insert AFTER INSERT ON users BEGIN {_INSERT_NEW} END",
    f"CREATE TRIGGER {SEARCH_TABLE}_delete AFTER DELETE ON users BEGIN {_DELETE_OLD} END",
    # Only writes to a searched column (or the id) touch the index: a login's last_login does not.
    f"CREATE TRIGGER {SEARCH_TABLE}_update AFTER UPDATE OF id, {_columns} ON users "
    f"BEGIN {_DELETE_OLD} {_INSERT_NEW} END",
)
"""The triggers that keep the table in step with ``users``. They belong to ``users``: a later
migration that makes SQLite copy the table (a batch operation that ALTER TABLE cannot do, such
as changing a column's type) drops them with the old table, and must create them again and
``REBUILD`` the index (docs/architecture.md#how-to-add-a-user-field-end-to-end)."""

REBUILD = f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')"
"""Index every row of ``users`` anew."""

CREATE_STATEMENTS = (
    # columnsize=0: no per-row column sizes, which only ranking (bm25) would read.
    f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5({_columns}, content='users', "
    "content_rowid='id', tokenize='trigram', columnsize=0)",
    *TRIGGER_STATEMENTS,
    REBUILD,  # the rows that exist already
)
"""Migration 0007's statements: the table, its triggers and the index of the existing rows."""

DROP_STATEMENTS = (
    *(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_{event}" for event in ("insert", "delete", "update")),
    f"DROP TABLE IF EXISTS {SEARCH_TABLE}",
)


def is_search_table(name: str) -> bool:
    """Whether ``name`` is the search table or one of the shadow tables FTS5 keeps for it
    (``users_search_data`` and the like): SQLite-only tables that no model describes."""
    return name == SEARCH_TABLE or name.startswith(f"{SEARCH_TABLE}_")


@cache
def sqlite_has_trigram() -> bool:
    """Whether this process's SQLite has FTS5 and its ``trigram`` tokenizer (3.34 or later);
    asked once, of an in-memory database (aiosqlite runs on the same ``sqlite3`` library)."""
    with closing(sqlite3.connect(":memory:")) as connection:
        try:
            connection.execute("CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='trigram')")
        except sqlite3.OperationalError:  # no such module: fts5, or no such tokenizer
            return False
    return True


_searchable: weakref.WeakSet[Dialect] = weakref.WeakSet()
"""The dialects (one per engine) whose database has the search table and whose SQLite reads it."""


def detect_search_table(dialect: Dialect) -> Callable[[Any, Any], None]:
    """A ``first_connect`` listener for a SQLite engine: whether its database has the search
    table, looked up once, on the engine's first connection, and used by every statement the
    engine compiles afterwards. A database migrated by another process while this engine runs
    is seen when the engine is made again (the server restarts after ``gql-users migrate``)."""

    def detect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SEARCH_TABLE,)
            )
            found = cursor.fetchone() is not None
        finally:
            cursor.close()
        if found and sqlite_has_trigram():
            _searchable.add(dialect)
        else:
            _searchable.discard(dialect)

    return detect


def trigram_query(searches: Sequence[Sequence[tuple[str, str]]]) -> str | None:
    """The FTS5 query that finds every row matching all ``searches``, or None if none can be
    served.

    Each search is a set of alternatives, ``(column, substring)`` pairs of which a row must
    contain one (in ``SEARCHED_COLUMNS``, ignoring case). A search with a substring shorter than
    ``MIN_SUBSTRING_LENGTH`` cannot be served and is left out (the query then finds more rows
    than the searches match, never fewer). Each substring is an FTS5 string: in double quotes,
    with its own double quotes doubled, so that nothing in it (``*``, ``:``, ``AND``, ``NEAR``,
    parentheses) is query syntax; the trigram tokenizer then makes it the phrase of its
    trigrams, which a column holds exactly when it holds the substring.
    """
    served: list[str] = []
    for alternatives in searches:
        if any(len(value) < MIN_SUBSTRING_LENGTH for _, value in alternatives):
            continue
        columns_of: dict[str, list[str]] = {}
        for column, value in alternatives:
            columns_of.setdefault(value, []).append(column)
        terms = (
            f'{{{" ".join(columns)}}} : "{value.replace(chr(34), chr(34) * 2)}"'
            for value, columns in columns_of.items()
        )
        served.append(f"({' OR '.join(terms)})")
    return " AND ".join(served) or None


class Prefiltered(ColumnElement[bool]):
    """``condition``, tested only on the users that the search table finds for ``query``
    where the engine's database has the table (``detect_search_table``); elsewhere, PostgreSQL
    included, just ``condition``, compiled as it would be alone.

    Built without knowing the database (the list's statements are built once and reused), it
    decides when compiled, for the dialect at hand; the query is a bound parameter, so one
    compiled form serves every value.
    """

    __visit_name__ = "trigram_prefiltered"
    _traverse_internals = [
        ("condition", InternalTraversal.dp_clauseelement),
        ("prefilter", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is, never compared with 1

    def __init__(self, condition: ColumnElement[bool], query: str) -> None:
        self.condition = condition
        matched: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(table(SEARCH_TABLE))
            .where(literal_column(SEARCH_TABLE).op("MATCH")(bindparam(None, query, String)))
        )
        self.prefilter = User.id.in_(matched)

    def self_group(self, against: OperatorType | None = None) -> ColumnElement[Any]:
        """In parentheses wherever it is not simply ANDed with other conditions (``_asbool``: a
        WHERE clause of this condition alone), so that PostgreSQL gets the SQL it got before."""
        return self if against in (None, operators.and_, operators._asbool) else Grouping(self)


def prefiltered(
    condition: ColumnElement[bool], searches: Sequence[Sequence[tuple[str, str]]]
) -> ColumnElement[bool]:
    """``condition``, which must hold exactly the ``searches`` (``trigram_query``) and may
    hold more conditions, narrowed first by the search table where there is one."""
    query = trigram_query(searches)
    return condition if query is None else Prefiltered(condition, query)


@compiles(Prefiltered)
def _compile_alone(element: Prefiltered, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.condition, **kw)


@compiles(Prefiltered, "sqlite")
def _compile_sqlite(element: Prefiltered, compiler: SQLCompiler, **kw: Any) -> str:
    if compiler.dialect not in _searchable:
        return compiler.process(element.condition, **kw)
    return compiler.process(and_(element.prefilter, element.condition).self_group(), **kw)
