"""The ``gql-users`` command line: serve, migrate, create-user, seed-demo.

A thin shell over the core: each command reads the settings (``GQL_USERS_*``), opens the
database, calls one function of ``gql_users.accounts`` or ``gql_users.db`` and prints the
outcome. Settings are read per command, not at import, so ``--help`` works with any
environment and tests can point each run at another database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_users import __version__
from gql_users.accounts.admin import CreatedUser, create_user_from_cli
from gql_users.accounts.errors import ValidationFailed
from gql_users.accounts.validation import INVALID_USERNAME
from gql_users.cli_schema import export_schema
from gql_users.db.engine import create_engine, create_sessionmaker, normalize_database_url
from gql_users.db.migrate import migrate
from gql_users.demo.seed import DemoAccount, DemoSize, SeedResult, seed_demo
from gql_users.logs import configure_logging
from gql_users.settings import Settings

if TYPE_CHECKING:
    from rich.progress import TaskID

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"GQL_USERS_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise click.ClickException(f"invalid settings: {problems}") from exc


def database_url(settings: Settings) -> str:
    return normalize_database_url(settings.database_url)


def printable_url(url: str) -> str:
    """The database URL with any password masked, fit for a terminal or a log."""
    return make_url(url).render_as_string(hide_password=True)


def run_on_database(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` with an engine on the configured database, then dispose of the engine.

    Database failures (unreachable server, missing tables) become a one-line error rather
    than a traceback; the message names the database but never its password.
    """
    url = database_url(settings)

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OSError, SQLAlchemyError) as exc:
        hint = " (run `gql-users migrate` first?)" if "no such table" in str(exc) else ""
        first_line = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise click.ClickException(f"database {printable_url(url)}: {first_line}{hint}") from exc


def run_with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def with_session(engine: AsyncEngine) -> T:
        async with create_sessionmaker(engine)() as session:
            return await work(session)

    return run_on_database(settings, with_session)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gql-users")
def main() -> None:
    """gql-users: a GraphQL gateway over user accounts, with a REST shim of the Waldur users API.

    Settings come from GQL_USERS_* environment variables (the README lists them all); the
    database is GQL_USERS_DATABASE_URL, a SQLite file in the working directory by default.
    """


@main.command()
@click.option("--host", help="Interface to listen on.  [default: GQL_USERS_HOST or 127.0.0.1]")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.  [default: GQL_USERS_PORT or 8000]",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="Worker processes sharing the port; 0 for one per core.  "
    "[default: GQL_USERS_WORKERS or one per core]",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the REST shim, GraphQL and /health over HTTP until interrupted (Ctrl-C or SIGTERM).

    A master process keeps WORKERS processes serving on one port and replaces one that dies; on
    SIGTERM, requests in flight finish first (GQL_USERS_GRACEFUL_TIMEOUT). Run `gql-users
    migrate` before: serve does not change the schema.
    """
    from gql_users.web.server import CannotListen, ServeOptions, default_workers
    from gql_users.web.server import serve as run_server

    settings = load_settings()
    configure_logging(
        settings.log_level, json_format=settings.log_format == "json", sql=settings.log_sql
    )
    workers = settings.workers if workers is None else workers
    options = ServeOptions(
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or default_workers(),
        graceful_timeout=settings.graceful_timeout,
        log_level=settings.log_level,
    )
    try:
        run_server(settings, options, announce=lambda message: click.echo(message, err=True))
    except CannotListen as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema (Alembic) to the latest revision.

    Says what it did: created the schema, upgraded it from one revision to another, or found it
    already current. Safe to run again: a database that is up to date is left as it is.
    """
    settings = load_settings()
    click.echo(run_on_database(settings, migrate).describe())


@main.command("create-user")
@click.argument("username")
@click.option("--email", required=True, help="The user's email address.")
@click.option("--staff", is_flag=True, help="Make the user staff (sees and manages everyone).")
@click.option("--support", is_flag=True, help="Make the user global support (sees everyone).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a password from the first line of standard input. Without it the user has no "
    "password and signs in with the printed token only.",
)
def create_user_command(
    username: str, email: str, staff: bool, support: bool, password_stdin: bool
) -> None:
    """Create an active user and print its uuid and API token.

    USERNAME may hold lowercase letters, digits and @ . + - _ only.

    \b
    Example:
      printf '%s\\n' 's3cret-pass' | gql-users create-user alice --email alice@example.org \\
          --staff --password-stdin
    """
    password: str | None = None
    if password_stdin:
        # open_file("-") is the same text stdin as click's deprecated get_text_stream("stdin").
        first_line: str = click.open_file("-").readline()
        password = first_line.rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: standard input holds no password")
    settings = load_settings()

    async def create(session: AsyncSession) -> CreatedUser:
        return await create_user_from_cli(
            session,
            settings,
            username=username,
            email=email,
            is_staff=staff,
            is_support=support,
            password=password,
        )

    try:
        created = run_with_session(settings, create)
    except ValidationFailed as exc:
        raise click.ClickException(describe_errors(exc)) from exc
    click.echo(f"uuid: {created.user.uuid.hex}")
    click.echo(f"token: {created.token.key}")


USERNAME_RULE = "Use lowercase letters, digits and @ . + - _ only, at most 128 characters."


def describe_errors(error: ValidationFailed) -> str:
    """``{"username": ["Enter a valid username."]}`` -> one line per field, with the rule."""
    if not isinstance(error.errors, dict):
        return " ".join(error.errors)
    lines = []
    for field_name, messages in error.errors.items():
        if field_name == "username" and INVALID_USERNAME in messages:
            messages = [*messages, USERNAME_RULE]
        lines.append(f"{field_name}: {' '.join(messages)}")
    return "\n".join(lines)


class RichProgress:
    """Draws one bar per seeding stage on standard error (standard output keeps the result)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.progress = Progress(
            "[progress.description]{task.description:<10}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


@main.command("seed-demo")
@click.option(
    "--users",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Demo users (besides the demo staff and owner accounts).",
)
@click.option(
    "--customers",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Customers (organisations).",
)
@click.option(
    "--projects",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Projects, spread over the customers.",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Seed only if the database has no users yet (what `make run` does); the "
    "demo accounts are printed either way.",
)
def seed_demo_command(users: int, customers: int, projects: int, if_empty: bool) -> None:
    """Fill the database with a realistic demo dataset, and print the demo logins.

    Users with international names, customers, projects, and roles (owners, managers,
    support, project admins and members) spread over them. Running it again adds only what
    is missing, so it never duplicates anything. Two accounts share a known password:
    demo.staff (staff) and demo.owner (owner of the first customer).
    """
    if projects and not customers:
        raise click.UsageError("--projects needs at least one customer (--customers 1 or more)")
    settings = load_settings()
    size = DemoSize(users=users, customers=customers, projects=projects)
    progress = RichProgress()

    async def seed(session: AsyncSession) -> SeedResult:
        return await seed_demo(session, settings, size, only_if_empty=if_empty, progress=progress)

    with progress.progress:
        result = run_with_session(settings, seed)
    print_seed_result(result, settings)


def print_seed_result(result: SeedResult, settings: Settings) -> None:
    if result.skipped:
        click.echo("The database already has users: no demo data added.")
    elif any(result.created.values()):
        counts = ", ".join(f"{count} {table}" for table, count in result.created.items())
        click.echo(f"Created {counts}.")
    else:
        click.echo("The demo dataset is already complete: nothing added.")
    if result.staff is None:
        if result.skipped:
            click.echo(
                "No demo accounts here. Create a staff user with: gql-users create-user NAME "
                "--email EMAIL --staff --password-stdin"
            )
        return
    click.echo("")
    for title, account in (("Demo staff", result.staff), ("Demo customer owner", result.owner)):
        if account is not None:
            echo_account(title, account)
    login_url = f"{settings.public_url}api-auth/password/"
    click.echo(
        f"\nLog in: curl -s -X POST {login_url} -H 'Content-Type: application/json' "
        f'-d \'{{"username": "{result.staff.username}", '
        f'"password": "{result.staff.password}"}}\''
    )


def echo_account(title: str, account: DemoAccount) -> None:
    password = account.password if account.password_works else "(changed since it was seeded)"
    click.echo(f"{title}:")
    click.echo(f"  username: {account.username}")
    click.echo(f"  password: {password}")
    click.echo(f"  token:    {account.token or '(account is inactive)'}")


main.add_command(export_schema)
