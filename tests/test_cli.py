"""The ``gql-users`` command line, run for real against the test database (SQLite or PostgreSQL).

Commands run in-process through click's CliRunner (in a worker thread when the test itself is
async, since each command starts its own event loop), except ``serve``, which runs as a real
subprocess on a free port. Results are checked through the database and the HTTP API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from gql_users.accounts.validation import USERNAME_PATTERN
from gql_users.cli import main
from gql_users.db.engine import create_engine
from gql_users.db.migrate import alembic_config
from gql_users.db.models import AuthToken, Customer, Project, Role, User, UserRole
from gql_users.demo.data import (
    DEMO_PASSWORD,
    DEMO_STAFF_USERNAME,
    demo_user_row,
    username_part,
)
from gql_users.settings import Settings
from tests.pgserver import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
HEX32 = re.compile(r"[0-9a-f]{32}")
HEX40 = re.compile(r"[0-9a-f]{40}")


def run_cli(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        main, list(args), input=stdin, env={"GQL_USERS_DATABASE_URL": database_url}
    )


async def run_cli_async(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return await asyncio.to_thread(run_cli, database_url, *args, stdin=stdin)


def printed_fields(result: Result) -> dict[str, str]:
    """``uuid: ...`` / ``token: ...`` lines of create-user's output."""
    assert result.exit_code == 0, result.output
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


async def table_counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in (User, AuthToken, Customer, Project, UserRole):
        counts[model.__tablename__] = await session.scalar(select(func.count()).select_from(model))
    session.expire_all()
    return counts


# --- migrate ----------------------------------------------------------------------------------


def downgrade(database_url: str, revision: str) -> None:
    """Take a migrated test database back to ``revision`` (``base``: no tables left)."""

    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(
                    lambda sync: command.downgrade(alembic_config(sync), revision)
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrate_creates_every_table_in_an_empty_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    url = f"sqlite+aiosqlite:///{path}"

    result = run_cli(url, "migrate")

    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        roles = {name for (name,) in connection.execute("SELECT name FROM roles")}
    assert {
        "alembic_version", "users", "auth_tokens", "roles", "customers", "projects",
        "user_roles", "email_change_requests", "login_failures",
    } <= tables  # fmt: skip
    assert roles == {
        "CUSTOMER.OWNER", "CUSTOMER.SUPPORT", "CUSTOMER.MANAGER",
        "PROJECT.ADMIN", "PROJECT.MANAGER", "PROJECT.MEMBER",
    }  # fmt: skip
    again = run_cli(url, "migrate")
    assert again.exit_code == 0, again.output


def test_migrate_says_it_created_the_schema(database_url: str) -> None:
    downgrade(database_url, "base")

    result = run_cli(database_url, "migrate")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Created the schema at {head_revision()}.\n"


def test_migrate_says_from_which_revision_it_upgraded(database_url: str) -> None:
    first = ScriptDirectory.from_config(alembic_config()).get_base()
    assert first is not None and first != head_revision()
    downgrade(database_url, first)

    result = run_cli(database_url, "migrate")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Upgraded the schema from {first} to {head_revision()}.\n"


def test_migrate_leaves_an_up_to_date_database_as_it_is(database_url: str) -> None:
    result = run_cli(database_url, "migrate")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"The schema is already current ({head_revision()}).\n"


def test_commands_on_an_unmigrated_database_fail_with_a_hint(tmp_path: Path) -> None:
    result = run_cli(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "seed-demo", "--users", "1")
    assert result.exit_code == 1
    assert "gql-users migrate" in result.output
    assert "Traceback" not in result.output


# --- create-user ------------------------------------------------------------------------------


async def test_create_user_prints_a_uuid_and_a_working_token(
    database_url: str, client: Any, session: AsyncSession
) -> None:
    result = await run_cli_async(
        database_url, "create-user", "alice.admin", "--email", "alice@example.org", "--staff"
    )

    fields = printed_fields(result)
    assert HEX32.fullmatch(fields["uuid"])
    assert HEX40.fullmatch(fields["token"])
    user = await session.scalar(select(User).where(User.uuid == uuid.UUID(fields["uuid"])))
    assert user is not None
    assert (user.username, user.email, user.is_staff, user.is_support) == (
        "alice.admin", "alice@example.org", True, False,
    )  # fmt: skip
    assert user.token_lifetime == 3600
    assert user.slug == "aliceadm-1"
    headers = {"Authorization": f"Token {fields['token']}"}
    assert (await client.post("/api-auth/logout/", headers=headers)).status == 204
    # Logout deleted that very token: it no longer authenticates.
    assert (await client.post("/api-auth/logout/", headers=headers)).status == 401


async def test_create_user_with_password_stdin_can_log_in(database_url: str, client: Any) -> None:
    result = await run_cli_async(
        database_url, "create-user", "bob", "--email", "bob@example.org", "--support",
        "--password-stdin", stdin="correct-horse-battery\n",
    )  # fmt: skip

    fields = printed_fields(result)
    login = await client.post(
        "/api-auth/password/", json={"username": "bob", "password": "correct-horse-battery"}
    )
    assert login.status == 200
    assert (await login.json())["token"] == fields["token"]
    wrong = await client.post("/api-auth/password/", json={"username": "bob", "password": "x"})
    assert wrong.status == 401


async def test_create_user_without_password_cannot_log_in_with_one(
    database_url: str, client: Any, session: AsyncSession
) -> None:
    fields = printed_fields(
        await run_cli_async(database_url, "create-user", "carol", "--email", "c@example.org")
    )

    stored = await session.scalar(
        select(User.password).where(User.uuid == uuid.UUID(fields["uuid"]))
    )
    assert stored == ""
    login = await client.post("/api-auth/password/", json={"username": "carol", "password": ""})
    assert login.status == 400
    login = await client.post(
        "/api-auth/password/", json={"username": "carol", "password": "anything-at-all"}
    )
    assert login.status == 401


@pytest.mark.parametrize("username", ["Alice", "with space", "ünï", "semi;colon", ""])
def test_create_user_rejects_a_bad_username_clearly(database_url: str, username: str) -> None:
    result = run_cli(database_url, "create-user", username, "--email", "x@example.org")

    assert result.exit_code == 1
    assert "username: " in result.output
    assert "lowercase letters, digits" in result.output or "may not be blank" in result.output
    assert "Traceback" not in result.output


def test_create_user_rejects_a_username_over_128_characters(database_url: str) -> None:
    result = run_cli(database_url, "create-user", "a" * 129, "--email", "x@example.org")

    assert result.exit_code == 1
    assert "username: Ensure this field has no more than 128 characters." in result.output


def test_create_user_rejects_a_taken_username_and_a_bad_email(database_url: str) -> None:
    assert run_cli(database_url, "create-user", "dora", "--email", "d@example.org").exit_code == 0

    taken = run_cli(database_url, "create-user", "dora", "--email", "other@example.org")
    bad_email = run_cli(database_url, "create-user", "dora2", "--email", "not-an-address")

    assert taken.exit_code == 1
    assert "username: user with this username already exists." in taken.output
    assert bad_email.exit_code == 1
    assert "email: Enter a valid email address." in bad_email.output


def test_create_user_applies_the_password_policy(database_url: str) -> None:
    result = run_cli(
        database_url, "create-user", "erik", "--email", "erik@example.org", "--password-stdin",
        stdin="12345678\n",
    )  # fmt: skip
    empty = run_cli(
        database_url, "create-user", "erik", "--email", "erik@example.org", "--password-stdin",
        stdin="\n",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "password: This password is entirely numeric." in result.output
    assert empty.exit_code != 0
    assert "standard input holds no password" in empty.output
    assert "uuid:" not in result.output + empty.output


# --- seed-demo --------------------------------------------------------------------------------


async def test_seed_demo_is_idempotent_and_spreads_roles(
    database_url: str, client: Any, session: AsyncSession
) -> None:
    args = ("seed-demo", "--users", "60", "--customers", "4", "--projects", "9")

    first = await run_cli_async(database_url, *args)

    assert first.exit_code == 0, first.output
    assert "Created 62 users, 4 customers, 9 projects" in first.stdout
    assert f"username: {DEMO_STAFF_USERNAME}" in first.stdout
    assert f"password: {DEMO_PASSWORD}" in first.stdout
    counts = await table_counts(session)
    assert counts["users"] == 62 and counts["auth_tokens"] == 62
    assert counts["customers"] == 4 and counts["projects"] == 9

    second = await run_cli_async(database_url, *args)

    assert second.exit_code == 0, second.output
    assert "nothing added" in second.stdout
    assert await table_counts(session) == counts

    roles = (
        await session.execute(
            select(Role.name, UserRole.customer_id, UserRole.project_id, UserRole.created_by_id)
            .join(Role, Role.id == UserRole.role_id)
            .where(UserRole.is_active.is_(True))
        )
    ).all()
    assert {name for name, *_ in roles} == {
        "CUSTOMER.OWNER", "CUSTOMER.SUPPORT", "CUSTOMER.MANAGER",
        "PROJECT.ADMIN", "PROJECT.MANAGER", "PROJECT.MEMBER",
    }  # fmt: skip
    owned = {customer for name, customer, _, _ in roles if name == "CUSTOMER.OWNER"}
    assert len(owned) == 4, "every customer has an active owner"
    administered = {project for name, _, project, _ in roles if name == "PROJECT.ADMIN"}
    assert len(administered) >= 8, "(nearly) every project has an active admin"
    assert all(created_by is not None for *_, created_by in roles)
    names = (await session.execute(select(User.first_name, User.last_name, User.query_field))).all()
    assert any(not (first + last).isascii() for first, last, _ in names), "accented names"
    assert all(folded.isascii() for *_, folded in names)

    login = await client.post(
        "/api-auth/password/", json={"username": DEMO_STAFF_USERNAME, "password": DEMO_PASSWORD}
    )
    assert login.status == 200
    assert f"token:    {(await login.json())['token']}" in second.stdout


async def test_seed_demo_grows_to_larger_sizes_without_duplicates(
    database_url: str, session: AsyncSession
) -> None:
    small = await run_cli_async(database_url, "seed-demo", "--users", "10", "--customers", "2",
                                "--projects", "3")  # fmt: skip
    larger = await run_cli_async(database_url, "seed-demo", "--users", "25", "--customers", "3",
                                 "--projects", "5")  # fmt: skip

    assert small.exit_code == 0 and larger.exit_code == 0, small.output + larger.output
    assert "Created 15 users, 1 customers, 2 projects" in larger.stdout
    counts = await table_counts(session)
    assert (counts["users"], counts["customers"], counts["projects"]) == (27, 3, 5)
    usernames = (await session.scalars(select(User.username))).all()
    assert len(usernames) == len(set(usernames))


async def test_seed_demo_if_empty_leaves_a_database_with_users_alone(
    database_url: str, factory: Any, session: AsyncSession
) -> None:
    await factory.user("someone")

    result = await run_cli_async(database_url, "seed-demo", "--if-empty", "--users", "5")

    assert result.exit_code == 0, result.output
    assert "already has users" in result.stdout
    assert (await table_counts(session))["users"] == 1
    assert "gql-users create-user" in result.stdout


async def test_seed_demo_if_empty_prints_the_demo_logins_of_an_earlier_run(
    database_url: str, session: AsyncSession
) -> None:
    seeded = await run_cli_async(database_url, "seed-demo", "--users", "3", "--customers", "1",
                                 "--projects", "1")  # fmt: skip
    again = await run_cli_async(database_url, "seed-demo", "--if-empty")

    assert seeded.exit_code == 0 and again.exit_code == 0, seeded.output + again.output
    assert "no demo data added" in again.stdout
    assert f"password: {DEMO_PASSWORD}" in again.stdout
    staff = await session.scalar(
        select(User).options(undefer(User.password)).where(User.username == DEMO_STAFF_USERNAME)
    )
    assert staff is not None and staff.is_staff and staff.password.startswith("$argon2id$")


def test_seed_demo_refuses_projects_without_customers(database_url: str) -> None:
    result = run_cli(database_url, "seed-demo", "--customers", "0", "--projects", "2")
    assert result.exit_code == 2
    assert "--customers 1 or more" in result.output


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Łukasz", "lukasz"), ("Paweł", "pawel"), ("Søren", "soren"), ("Øverland", "overland"),
        ("Groß", "gross"), ("Ærøskøbing", "aeroskobing"), ("Đorđe", "dorde"), ("Þórður", "thordur"),
        ("Yılmaz", "yilmaz"), ("Jürimäe", "jurimae"), ("O'Brien", "obrien"),
    ],
)  # fmt: skip
def test_demo_usernames_transliterate_letters_that_do_not_decompose(
    name: str, expected: str
) -> None:
    assert username_part(name) == expected


def test_demo_usernames_keep_every_letter_of_the_names() -> None:
    """No letter of a demo name is dropped from its username (``ł`` is ``l``, not nothing)."""
    rows = [demo_user_row(index, datetime.now(UTC)) for index in range(1, 400)]
    for row in rows:
        local = row["username"].rstrip("0123456789")
        first, _, last = local.partition(".")
        assert len(first) >= sum(c.isalnum() for c in row["first_name"]), row["username"]
        assert len(last) >= sum(c.isalnum() for c in row["last_name"]), row["username"]
        assert USERNAME_PATTERN.fullmatch(row["username"]), row["username"]
    assert any("ł" in row["first_name"].lower() + row["last_name"].lower() for row in rows)


# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_works_for_every_command(command: str | None) -> None:
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    if command is None:
        assert {"serve", "migrate", "create-user", "seed-demo"} <= set(main.commands)


def test_python_dash_m_runs_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gql_users", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "seed-demo" in result.stdout and "create-user" in result.stdout


# --- README -----------------------------------------------------------------------------------


def readme_default(value: Any) -> str:
    """A default as the README's settings table writes it."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "(empty)"
    return f"`{json.dumps(value) if isinstance(value, list) else value}`"


def test_readme_lists_every_setting_with_its_default() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(GQL_USERS_[A-Z_]+)` \| ([^|]+) \|", readme, re.MULTILINE))
    expected = {
        f"GQL_USERS_{name.upper()}": readme_default(field.default)
        for name, field in Settings.model_fields.items()
    }
    assert {name: rows.get(name, "(missing)").strip() for name in expected} == expected


# --- serve, end to end ------------------------------------------------------------------------


def http_json(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def gql_users_command() -> list[str]:
    """The installed console script next to this interpreter (what `make run` uses)."""
    script = Path(sys.executable).with_name("gql-users")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gql_users"]


def test_serve_answers_health_and_demo_login(database_url: str, tmp_path: Path) -> None:
    assert run_cli(database_url, "migrate").exit_code == 0
    seeded = run_cli(database_url, "seed-demo", "--users", "20", "--customers", "2",
                     "--projects", "4")  # fmt: skip
    assert seeded.exit_code == 0, seeded.output
    port = free_port()
    env = {
        **os.environ,
        "GQL_USERS_DATABASE_URL": database_url,
        "GQL_USERS_MAIL_DIR": str(tmp_path / "mail"),
        "GQL_USERS_MEDIA_DIR": str(tmp_path / "media"),
    }
    server = subprocess.Popen(
        [*gql_users_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"serve exited early:\n{server.stdout.read()}"  # type: ignore[union-attr]
            try:
                status, body = http_json(f"{base}/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        assert (status, body) == (200, {"status": "ok", "database": "ok"})

        status, body = http_json(
            f"{base}/api-auth/password/",
            {"username": DEMO_STAFF_USERNAME, "password": DEMO_PASSWORD},
        )
        assert status == 200
        assert HEX40.fullmatch(body["token"])
        status, body = http_json(
            f"{base}/api-auth/password/", {"username": DEMO_STAFF_USERNAME, "password": "nope"}
        )
        assert status == 401
    finally:
        # SIGTERM, not SIGINT: a process started in the background may inherit an ignored
        # SIGINT, while aiohttp always handles SIGTERM with a graceful shutdown.
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert server.returncode == 0, output
    assert f"Running on {base}" in output


async def test_debug_logging_never_shows_statement_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With GQL_USERS_LOG_LEVEL=DEBUG, aiosqlite would log every parameter (password hashes)."""
    from sqlalchemy import text

    from gql_users.db.engine import create_engine
    from gql_users.logs import PARAMETER_LOGGERS, configure_logging

    saved = {name: logging.getLogger(name).level for name in PARAMETER_LOGGERS}
    caplog.set_level(logging.DEBUG)
    configure_logging("DEBUG")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (secret TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES (:s)"), {"s": "argon2-marker-hash"})
    finally:
        await engine.dispose()
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    logging.getLogger("gql_users.test").debug("debug records are kept")
    assert "debug records are kept" in caplog.text
    assert "argon2-marker-hash" not in caplog.text
