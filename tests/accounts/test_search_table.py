"""The substring filters over SQLite's trigram search table (migration 0007,
gql_users/db/search.py): the same answers as a scan of the users for every kind of term, the
table kept in step by every way users are written, and its migration.

On SQLite each answer is compared with the one a copy of the database without the search table
gives (the same code, scanning). PostgreSQL has no such table: there the comparisons are with the
same database, and the tests check the answers that do not depend on how a backend folds
non-ASCII letters.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users.accounts.callers import Caller
from gql_users.accounts.email_change import confirm_email_change, request_email_change
from gql_users.accounts.filters import UserFilter, filter_conditions
from gql_users.db import search
from gql_users.db.engine import create_engine, create_sessionmaker
from gql_users.db.migrate import alembic_config, migrate
from gql_users.db.models import SEARCHED_COLUMNS, EmailChangeRequest, User
from gql_users.db.search import SEARCH_TABLE, trigram_query
from gql_users.eduteams.client import EduteamsClient
from gql_users.settings import Settings
from tests.conftest import BACKEND, Factory
from tests.eduteams.support import (
    ALICE_INFO,
    FakeEduteams,
    clock_fixture,  # noqa: F401 (a fixture: pytest finds it by name)
    eduteams_fixture,  # noqa: F401
    eduteams_user,
    fake_fixture,  # noqa: F401
    pull,
    remote_fixture,  # noqa: F401
    remote_settings_fixture,  # noqa: F401
)
from tests.test_cli import run_cli_async
from tests.world import usernames_for

SQLITE = BACKEND == "sqlite"
KELVIN = "\u212a"  # KELVIN SIGN, which Unicode folds to an ASCII "k"

SUBSTRING_FILTERS = (
    "full_name",
    "user_keyword",
    "query",
    "native_name",
    "organization",
    "job_title",
    "email",
)
"""The filters that search substrings (``filters.Substring``)."""

FILTER_OF_COLUMN = {
    "query_field": "full_name",
    "first_name": "query",
    "last_name": "query",
    "civil_number": "query",
    "username": "query",
    "email": "email",
    "native_name": "native_name",
    "organization": "organization",
    "job_title": "job_title",
}
"""A filter that searches each column of the search table."""

PEOPLE: dict[str, dict[str, Any]] = {
    "francois": {
        "first_name": "François",
        "last_name": "Jürimäe",
        "native_name": "Франсуа",
        "organization": "Université de Tartu",
        "job_title": "Research Engineer",
        "email": "Francois.Jurimae@Example.org",
        "civil_number": "EE38001085718",
    },
    "obrien": {
        "first_name": "Seán",
        "last_name": "O'Brien",
        "native_name": "ÄÖÜ Straße",
        "organization": "100% Pure_Research Ltd",
        "job_title": 'Head of "Quotes" * Stars',
        "email": "sean.o'brien+AND@example.ie",
        "civil_number": "IE-1234/567",
    },
    "near": {
        "first_name": "Near",
        "last_name": "Notand",
        "native_name": "NEAR(a b) OR NOT",
        "organization": "AND OR NOT NEAR (x) {email}: ^start",
        "job_title": "a/b \\ c -- d",
        "email": "near.notand@lab.example",
    },
    "zoe": {
        "first_name": "Ζωή",
        "last_name": "ΑΛΦΑ",
        "native_name": "ζωή άλφα",
        "organization": "İstanbul Üniversitesi",
        "job_title": f"{KELVIN}elvin scale",
        "email": "zoe@uni.example",
    },
    "ann_lee": {
        "first_name": "Ann",
        "last_name": "Lee",
        "native_name": "😀 smile",
        "organization": "under_score%percent",
        "job_title": "Engineer",
        "email": "ann_lee%x@example.com",
    },
    "ghost": {"email": "", "is_active": False},
}

TRICKY_TERMS = [
    # case
    "ann",
    "ANN",
    "aNn Lee",
    "engineer",
    "ENGINEER",
    # non-ASCII letters, in the stored case and in the other one
    "François",
    "FRANÇOIS",
    "francois",
    "jürimäe",
    "JÜRIMÄE",
    "ÄÖÜ",
    "äöü",
    "straße",
    "STRASSE",
    "Ζωή",
    "ΖΩΉ",
    "άλφα",
    "ΑΛΦΑ",
    "İst",
    "ist",
    "Франсуа",
    "ФРАНСУА",
    KELVIN,
    "kelvin",
    "KELVIN",
    f"{KELVIN}elv",
    "😀",
    "😀 s",
    # LIKE's wildcards and its escape character
    "%",
    "100%",
    "% Pure",
    "_",
    "pure_research",
    "e_s",
    "%_",
    "e%p",
    "/",
    "a/b",
    "4/5",
    "\\",
    "\\ c",
    # quotes and what FTS5 queries give a meaning
    '"',
    '"quotes"',
    '"Quotes" *',
    "*",
    "* Stars",
    "'",
    "o'brien",
    "O'BRIEN",
    "AND",
    "and",
    "+and@",
    "NEAR",
    "near",
    "NEAR(",
    "NEAR(a b)",
    "OR",
    "OR NOT",
    "NOT",
    "(x)",
    "{email}:",
    "^start",
    ":",
    "-- d",
    "-",
    "x:y",
    # one and two characters, which no trigram serves
    "a",
    "A",
    "ab",
    "ex",
    "e",
    "é",
    # words: the query filter's widening
    "Mary Jürimäe",
    "Seán O'Brien",
    "Near Lee",
    "Ann Le",
    # plain
    "example",
    "lab.example",
    "Tartu",
    "EE3800",
    "nobody-matches-this",
]


async def staff_caller(factory: Factory) -> Caller:
    return Caller(user=await factory.user("admin", is_staff=True))


@pytest.fixture
async def people(factory: Factory) -> None:
    async with factory.batch():
        for username, fields in PEOPLE.items():
            await factory.user(username, **fields)


@asynccontextmanager
async def scanning(database_url: str, directory: Path) -> AsyncIterator[AsyncSession]:
    """A session on what the users would be without the search table: on SQLite a copy of the
    test database (as committed now) from which the table is dropped, so that every substring
    filter scans; on PostgreSQL, which has no such table, the test database itself."""
    if SQLITE:
        source = make_url(database_url).database
        assert source is not None
        copy = directory / "scanned.db"
        copy.unlink(missing_ok=True)
        await asyncio.to_thread(copy_without_search_table, Path(source), copy)
        database_url = f"sqlite+aiosqlite:///{copy}"
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def copy_without_search_table(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)
        for statement in search.DROP_STATEMENTS:
            copy.execute(statement)
        copy.commit()
        tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master")}
    assert not {name for name in tables if search.is_search_table(name)}, tables


async def answers(
    session: AsyncSession, caller: Caller, filters: Iterable[UserFilter]
) -> list[set[str]]:
    return [set(await usernames_for(session, caller, user_filter)) for user_filter in filters]


async def assert_same_as_a_scan(
    session: AsyncSession,
    database_url: str,
    directory: Path,
    caller: Caller,
    filters: list[UserFilter],
) -> list[set[str]]:
    """Each filter's answer from the test database is the one a scan gives; returns them."""
    found = await answers(session, caller, filters)
    async with scanning(database_url, directory) as scanned_session:
        scanned = await answers(scanned_session, caller, filters)
    differing = [
        (user_filter, got, expected)
        for user_filter, got, expected in zip(filters, found, scanned, strict=True)
        if got != expected
    ]
    assert not differing, differing
    return found


async def assert_in_step(session: AsyncSession) -> None:
    """On SQLite, FTS5 checks its index against every row of ``users`` (it refuses, with
    "database disk image is malformed", when one was written without the index)."""
    if SQLITE:
        await session.execute(
            text(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rank) VALUES ('integrity-check', 1)")
        )
        await session.commit()  # which changes nothing, and leaves the session's objects loaded


def on_every_filter(terms: Iterable[str]) -> list[UserFilter]:
    return [UserFilter.from_values({name: term}) for term in terms for name in SUBSTRING_FILTERS]


# --- the same answers as a scan --------------------------------------------------------------


async def test_tricky_terms_find_what_a_scan_finds(
    session: AsyncSession, factory: Factory, people: None, database_url: str, tmp_path: Path
) -> None:
    staff = await staff_caller(factory)
    filters = on_every_filter(TRICKY_TERMS)
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, filters)
    assert sum(1 for names in found if names) > len(filters) // 4  # not a comparison of nothings


@pytest.mark.parametrize(
    ("name", "term", "expected"),
    [
        ("email", "+AND@", {"obrien"}),
        ("organization", "100% pure_", {"obrien"}),
        ("organization", "_", {"obrien", "ann_lee"}),
        ("organization", "e%p", {"ann_lee"}),
        ("organization", "%_", set()),
        ("organization", "AND OR NOT NEAR (x) {EMAIL}: ^", {"near"}),
        ("organization", "near", {"near"}),
        ("job_title", '"quotes" *', {"obrien"}),
        ("job_title", "A/B \\ C --", {"near"}),
        ("native_name", "NEAR(a b) OR", {"near"}),
        ("query", "O'BRIEN", {"obrien"}),
        ("query", "ie-1234/5", {"obrien"}),
        ("query", "Near Lee", {"near", "ann_lee"}),
        ("user_keyword", "and@", {"obrien", "near"}),  # near.notand@
        ("full_name", "JÜRIMÄE", {"francois"}),
        ("full_name", "seAN o'B", {"obrien"}),
        ("email", "example", {"admin", "francois", "obrien", "near", "zoe", "ann_lee"}),
    ],
)
async def test_terms_with_special_characters_are_literal(
    session: AsyncSession,
    factory: Factory,
    people: None,
    database_url: str,
    tmp_path: Path,
    name: str,
    term: str,
    expected: set[str],
) -> None:
    """Answers that do not depend on how the backend folds non-ASCII letters, so they hold on
    both; on SQLite they also come from the search table (``term`` is long enough)."""
    staff = await staff_caller(factory)
    user_filter = UserFilter.from_values({name: term})
    [found] = await assert_same_as_a_scan(session, database_url, tmp_path, staff, [user_filter])
    assert found == expected


async def test_substrings_of_stored_values_find_what_a_scan_finds(
    session: AsyncSession, factory: Factory, people: None, database_url: str, tmp_path: Path
) -> None:
    """Pieces of every searched value, of 1 to 8 characters, with their case changed at random
    (the same pieces on every run), each through the filter that searches its column."""
    staff = await staff_caller(factory)
    pick = random.Random(9)
    recase: list[Callable[[str], str]] = [str.lower, str.upper, str.swapcase, str]
    filters = []
    for fields in PEOPLE.values():
        for column, value in fields.items():
            if column not in FILTER_OF_COLUMN or not value:
                continue
            for _ in range(6):
                start = pick.randrange(len(value))
                piece = pick.choice(recase)(value[start : start + pick.randint(1, 8)])
                if piece.strip():
                    filters.append(UserFilter.from_values({FILTER_OF_COLUMN[column]: piece}))
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, filters)
    assert sum(1 for names in found if names) > len(filters) // 2


async def test_the_longest_term_is_answered(
    session: AsyncSession, factory: Factory, people: None, database_url: str, tmp_path: Path
) -> None:
    """A term of the most characters a filter takes (8,190) is a phrase of 8,188 trigrams."""
    staff = await staff_caller(factory)
    long_terms = ["ab" * 4095, "@example." * 910, 'x"' * 4095]
    found = await assert_same_as_a_scan(
        session, database_url, tmp_path, staff, on_every_filter(long_terms)
    )
    assert not any(found)


# --- the query the table is asked --------------------------------------------------------------


@pytest.mark.skipif(not SQLITE, reason="the search table is SQLite's")
@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("full_name", {"query_field"}),
        ("user_keyword", {"query_field", "email", "username"}),
        ("query", {"first_name", "last_name", "civil_number", "username", "email"}),
        ("native_name", {"native_name"}),
        ("organization", {"organization"}),
        ("job_title", {"job_title"}),
        ("email", {"email"}),
    ],
)
async def test_each_filter_asks_the_table_about_the_columns_it_compares(
    session: AsyncSession, name: str, columns: set[str]
) -> None:
    """The table is asked about exactly the columns whose LIKE conditions then decide (were it
    asked about fewer, it could miss a match), all of them columns it indexes."""
    await session.execute(text("SELECT 1"))  # connected: the engine has looked for the table
    staff = Caller(User(is_staff=True))
    user_filter = UserFilter.from_values({name: "Ann Lee"})
    statement = select(User.id).where(*filter_conditions(user_filter, staff))
    compiled = statement.compile(session.get_bind())
    [query] = [value for value in compiled.params.values() if " : " in str(value)]
    asked = {column for names in re.findall(r"\{([^}]*)\}", query) for column in names.split()}
    compared = set(re.findall(r"lower\(users\.(\w+)\) LIKE", str(compiled)))
    assert asked == compared == columns
    assert columns <= set(SEARCHED_COLUMNS)


def test_each_substring_is_one_quoted_phrase_in_its_columns() -> None:
    query = trigram_query(
        [
            [("first_name", 'O"Neil AND *'), ("email", 'O"Neil AND *'), ("last_name", "Neil")],
            [("query_field", "ann")],
        ]
    )
    assert query == (
        '({first_name email} : "O""Neil AND *" OR {last_name} : "Neil") AND ({query_field} : "ann")'
    )


@pytest.mark.parametrize(
    "searches",
    [
        [[("email", "ab")]],
        [[("first_name", "Ann Li"), ("last_name", "Li")]],  # one alternative too short
        [[("query_field", "")]],
    ],
)
def test_a_search_with_a_substring_under_three_characters_is_left_to_the_scan(
    searches: list[list[tuple[str, str]]],
) -> None:
    assert trigram_query(searches) is None
    assert trigram_query([*searches, [("email", "abc")]]) == '({email} : "abc")'


# --- every write keeps the table in step -----------------------------------------------------


async def test_api_creates_updates_and_deletes_keep_the_table_in_step(
    client: Any, session: AsyncSession, factory: Factory, database_url: str, tmp_path: Path
) -> None:
    admin = await factory.user("admin", is_staff=True)
    staff, headers = Caller(user=admin), await factory.auth(admin)
    created = await client.post(
        "/api/users/",
        json={
            "username": "kallas",
            "email": "kaja.kallas@valitsus.example",
            "first_name": "Kaja",
            "last_name": "Kallas",
            "organization": "Riigikogu",
            "job_title": "Minister",
        },
        headers=headers,
    )
    assert created.status == 201, await created.text()
    url = (await created.json())["url"].removeprefix("http://testserver")
    await assert_in_step(session)
    before = on_every_filter(["kallas", "riigikogu", "minister", "valitsus", "Ōsaka"])
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, before)
    assert {"kallas"} in found
    listed = await client.get("/api/users/?query=KALLAS&field=username", headers=headers)
    assert await listed.json() == [{"username": "kallas"}]  # through the server's own engine

    changed = await client.patch(
        url,
        json={
            "last_name": "Ōsaka-Kallas",
            "organization": "Euroopa Liit",
            "job_title": "Chief",
            "agree_with_policy": True,
        },
        headers=headers,
    )
    assert changed.status == 200, await changed.text()
    await assert_in_step(session)
    after = [
        UserFilter(organization="riigikogu"),
        UserFilter(job_title="minister"),
        UserFilter(organization="euroopa"),
        UserFilter(full_name="osaka-kal"),
        UserFilter(query="ŌSAKA"),
        UserFilter(query="Ōsaka"),
        UserFilter(email="valitsus"),
    ]
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, after)
    assert found == [set(), set(), *[{"kallas"}] * 5]

    deleted = await client.delete(url, headers=headers)
    assert deleted.status == 204, await deleted.text()
    await assert_in_step(session)
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, after)
    assert not any(found)


async def test_core_writes_keep_the_table_in_step(
    session: AsyncSession,
    factory: Factory,
    settings: Settings,
    people: None,
    database_url: str,
    tmp_path: Path,
) -> None:
    """The email change's confirmation (one UPDATE of the email), an update of columns that are
    not searched (a login's), and a user deleted with everything of theirs."""
    staff = await staff_caller(factory)
    obrien = await session.scalar(select(User).where(User.username == "obrien"))
    assert obrien is not None
    await request_email_change(session, settings, obrien, "sean@newmail.example")
    code = await session.scalar(
        select(EmailChangeRequest.uuid).where(EmailChangeRequest.user_id == obrien.id)
    )
    await confirm_email_change(session, settings, str(code))
    await session.execute(text("UPDATE users SET last_login = modified"))
    await session.execute(text("DELETE FROM users WHERE username = 'near'"))
    await session.commit()
    await assert_in_step(session)
    filters = on_every_filter(["newmail", "+and@", "near", "notand", "example"])
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, filters)
    by_filter = dict(zip(filters, found, strict=True))
    assert by_filter[UserFilter(email="newmail")] == {"obrien"}
    assert by_filter[UserFilter(email="+and@")] == set()
    assert by_filter[UserFilter(query="notand")] == set()


async def test_the_eduteams_sync_keeps_the_table_in_step(
    session: AsyncSession,
    factory: Factory,
    fake: FakeEduteams,
    remote: EduteamsClient,
    remote_settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    """An update of an eduTEAMS user from its profile, and a user the profile's ``sub`` creates."""
    staff_user = await factory.user("staff", is_staff=True)
    staff = Caller(user=staff_user)
    alice = await eduteams_user(factory, first_name="Old", last_name="Name", email="old@x.example")
    bob = await eduteams_user(factory, "bob")
    fake.users["alice"] = ALICE_INFO
    fake.users["bob"] = {**ALICE_INFO, "sub": "robert@eduteams.example", "given_name": "Robert"}

    await pull(session, remote_settings, remote, staff_user, alice)
    await pull(session, remote_settings, remote, staff_user, bob)

    await assert_in_step(session)
    filters = [
        UserFilter(full_name="old name"),
        UserFilter(email="old@x"),
        UserFilter(full_name="alice jurimae"),
        UserFilter(query="robert@edu"),
        UserFilter(user_keyword="uni.example"),
    ]
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, filters)
    assert found == [
        set(),
        set(),
        {"alice"},
        {"robert@eduteams.example"},
        {"alice", "robert@eduteams.example"},
    ]


async def test_the_command_line_and_bulk_seeding_keep_the_table_in_step(
    session: AsyncSession, factory: Factory, database_url: str, tmp_path: Path
) -> None:
    """``gql-users create-user`` and ``seed-demo`` (a bulk INSERT per batch)."""
    staff = await staff_caller(factory)
    result = await run_cli_async(database_url, "create-user", "cli.person", "--email", "c@cli.ex")
    assert result.exit_code == 0, result.output
    result = await run_cli_async(
        database_url, "seed-demo", "--users", "40", "--customers", "0", "--projects", "0"
    )
    assert result.exit_code == 0, result.output
    await assert_in_step(session)
    seeded = list(await session.scalars(select(User).where(User.username != "admin")))
    assert len(seeded) > 40
    filters = [UserFilter(email="c@cli.ex"), UserFilter(query="cli.person")]
    for user in seeded[::4]:
        filters += [
            UserFilter(full_name=user.query_field[1:-1]),
            UserFilter(query=user.username[1:].upper()),
            UserFilter(email=user.email[2:]),
            UserFilter(organization=user.organization[:-2]),
        ]
    found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, filters)
    assert found[:2] == [{"cli.person"}, {"cli.person"}]
    assert all(found)


# --- the migration -----------------------------------------------------------------------------


async def schema_objects(engine: AsyncEngine) -> set[str]:
    """The names of the tables (and, on SQLite, triggers) of the database."""
    async with engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        if SQLITE:
            tables |= set(
                await connection.scalars(
                    text("SELECT name FROM sqlite_master WHERE type='trigger'")
                )
            )
    return tables


async def migrate_to(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    async with engine.begin() as connection:
        step = command.downgrade if down else command.upgrade
        await connection.run_sync(lambda sync: step(alembic_config(sync), revision))


async def test_downgrade_drops_the_table_and_upgrade_indexes_the_users_there_are(
    factory: Factory, database_url: str, tmp_path: Path
) -> None:
    """Users written while the table is gone are found once it is back (the migration fills it
    from the existing rows); on PostgreSQL the migration does nothing either way."""
    names = {f"{SEARCH_TABLE}{suffix}" for suffix in ("", "_insert", "_update", "_delete")}
    engine = create_engine(database_url)
    try:
        assert (await schema_objects(engine) >= names) is SQLITE
        await migrate_to(engine, "0006", down=True)
        assert not {name for name in await schema_objects(engine) if search.is_search_table(name)}
        await factory.user("written.between", first_name="Between", organization="Migrations")
        await migrate(engine)
        assert (await schema_objects(engine) >= names) is SQLITE
    finally:
        await engine.dispose()
    fresh = create_engine(database_url)
    try:
        async with create_sessionmaker(fresh)() as session:
            await assert_in_step(session)
            staff = await staff_caller(Factory(session))
            filters = [UserFilter(organization="migrat"), UserFilter(query="WRITTEN.betw")]
            found = await assert_same_as_a_scan(session, database_url, tmp_path, staff, filters)
            assert found == [{"written.between"}, {"written.between"}]
    finally:
        await fresh.dispose()


@pytest.mark.skipif(not SQLITE, reason="the search table is SQLite's")
async def test_without_a_trigram_tokenizer_the_table_is_skipped_and_searches_scan(
    factory: Factory, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SQLite before 3.34 (or without FTS5), simulated by its answer to the probe: the
    migration warns and creates nothing, and the filters scan, with the same answers."""
    await factory.user("francois", **PEOPLE["francois"])
    engine = create_engine(database_url)
    try:
        await migrate_to(engine, "0006", down=True)
        monkeypatch.setattr(search, "sqlite_has_trigram", lambda: False)
        with pytest.warns(UserWarning, match="no FTS5 trigram tokenizer"):
            await migrate(engine)
        assert not {name for name in await schema_objects(engine) if search.is_search_table(name)}
    finally:
        await engine.dispose()
    scanning_engine = create_engine(database_url)
    try:
        async with create_sessionmaker(scanning_engine)() as session:
            staff = await staff_caller(Factory(session))
            user_filter = UserFilter(full_name="jurimae")
            statement = select(User.id).where(*filter_conditions(user_filter, staff))
            sql = str(statement.compile(scanning_engine.sync_engine))
            assert SEARCH_TABLE not in sql
            assert await answers(session, staff, [user_filter]) == [{"francois"}]
    finally:
        await scanning_engine.dispose()
