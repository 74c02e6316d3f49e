"""Seeding the demo dataset (``gql-users seed-demo``, ``make run``): idempotent and in bulk.

The rows themselves come from ``data`` with deterministic uuids; this module inserts the
ones that are missing. It reads the uuids (and ids) of each table once instead of asking about
each row, which is one cheap query for a demo-sized database, and inserts in batches, so that
10,000 users take a few seconds. Demo users other than the two demo accounts get no password
(argon2 costs ~50 ms per hash, and API-created users have none either); every demo user gets a
token, most of them long expired, as in a real installation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.accounts.passwords import hash_password, verify_password
from gql_users.accounts.slugs import next_slug, slug_prefix
from gql_users.accounts.tokens import create_token, generate_key, get_token, is_expired
from gql_users.db.folding import fold_ascii
from gql_users.db.models import AuthToken, Customer, Project, Role, User, UserRole, utcnow
from gql_users.demo.data import (
    DEMO_OWNER_USERNAME,
    DEMO_PASSWORD,
    DEMO_STAFF_USERNAME,
    DemoSize,
    demo_account_row,
    demo_customer_row,
    demo_project_row,
    demo_user_row,
    demo_uuid,
    plan_roles,
)
from gql_users.settings import Settings

__all__ = ["DemoAccount", "DemoSize", "SeedResult", "count_users", "seed_demo"]

BATCH_SIZE = 500  # rows per INSERT: well under SQLite's and asyncpg's bound-parameter limits

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``(stage, done, total)`` before the first and after each batch of a stage."""

T = TypeVar("T")

ONE_STATEMENT = {"render_nulls": True}
"""ORM bulk INSERTs leave out None values and so split a batch into one statement per run of
rows with the same None columns (hundreds per batch here); rendering NULLs keeps one."""


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo login whose password is public (printed by ``seed-demo``, quoted in the README).

    ``password_works`` is False when someone has changed the password since seeding, and
    ``token`` is None when the account has been deactivated.
    """

    username: str
    password: str
    uuid: uuid.UUID
    token: str | None
    password_works: bool


@dataclass(slots=True)
class SeedResult:
    created: dict[str, int] = field(default_factory=dict)
    """Rows inserted by this run: users, customers, projects and roles (permissions)."""
    staff: DemoAccount | None = None
    owner: DemoAccount | None = None
    skipped: bool = False
    """True when ``only_if_empty`` found users and seeded nothing."""


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


async def _ids_by_uuid(session: AsyncSession, model: Any) -> dict[uuid.UUID, int]:
    """``{uuid: id}`` of every row of ``model``'s table.

    One query for the table rather than ``uuid IN (...)`` per batch: on PostgreSQL such a
    500-uuid IN list took ~80 ms through SQLAlchemy and asyncpg, twenty times the cost of
    reading 10,000 rows.
    """
    return dict((await session.execute(select(model.uuid, model.id))).tuples().all())


async def _insert_missing(
    session: AsyncSession,
    model: Any,
    rows: list[dict[str, Any]],
    stage: str,
    progress: ProgressCallback,
) -> dict[uuid.UUID, int]:
    """Insert the rows whose uuid is not in the table yet; returns the table's ids by uuid."""
    existing = await _ids_by_uuid(session, model)
    missing = [row for row in rows if row["uuid"] not in existing]
    progress(stage, 0, len(missing))
    for done, batch in enumerate(_batches(missing), start=1):
        await session.execute(insert(model), list(batch), execution_options=ONE_STATEMENT)
        progress(stage, min(done * BATCH_SIZE, len(missing)), len(missing))
    return await _ids_by_uuid(session, model) if missing else existing


async def _insert_users(
    session: AsyncSession, rows: list[dict[str, Any]], progress: ProgressCallback
) -> dict[uuid.UUID, int]:
    """Insert the missing users with their slugs and tokens; returns the ids by uuid.

    A demo user whose username a non-demo user already holds is left out (and so gets no
    roles). Slugs follow ``slugs.next_slug`` with one counter per prefix, as if the users had
    been created one by one.
    """
    known = (await session.execute(select(User.uuid, User.id, User.username, User.slug))).all()
    ids = {row.uuid: row.id for row in known}
    usernames = {row.username for row in known}
    missing = [r for r in rows if r["uuid"] not in ids and r["username"] not in usernames]
    slugs_by_prefix: dict[str, list[str]] = {slug_prefix(r["username"]): [] for r in missing}
    for existing in known:
        stem = existing.slug.rpartition("-")[0]
        if stem in slugs_by_prefix:
            slugs_by_prefix[stem].append(existing.slug)
    next_number = {
        prefix: int(next_slug(prefix, slugs).rpartition("-")[2])
        for prefix, slugs in slugs_by_prefix.items()
    }
    for row in missing:
        prefix = slug_prefix(row["username"])
        row["slug"] = f"{prefix}-{next_number[prefix]}"
        next_number[prefix] += 1
        # The model's before_insert hook keeps query_field in step for ORM objects; a bulk
        # INSERT bypasses it, so the same folding is applied here.
        row["query_field"] = fold_ascii(f"{row['first_name']} {row['last_name']}".strip())[:300]
    progress("users", 0, len(missing))
    for done, batch in enumerate(_batches(missing), start=1):
        # A bulk INSERT ... RETURNING: one statement per batch on both backends, where ORM
        # objects cost one INSERT per user on SQLite (no ordered multi-row RETURNING there).
        statement = insert(User).returning(User.uuid, User.id)
        inserted = (
            (await session.execute(statement, batch, execution_options=ONE_STATEMENT))
            .tuples()
            .all()
        )
        ids.update(inserted)
        created_at = {row["uuid"]: row.get("last_login") or row["date_joined"] for row in batch}
        await session.execute(
            insert(AuthToken),
            [
                {"key": generate_key(), "user_id": user_id, "created": created_at[user_uuid]}
                for user_uuid, user_id in inserted
            ],
        )
        progress("users", min(done * BATCH_SIZE, len(missing)), len(missing))
    return ids


async def _demo_account(session: AsyncSession, username: str, now: datetime) -> DemoAccount | None:
    """The demo account, given a valid token if its own has expired; None if it does not exist
    (or the username belongs to someone who is not the demo account)."""
    user = await session.scalar(select(User).where(User.uuid == demo_uuid(f"account:{username}")))
    if user is None or user.username != username:
        return None
    encoded = await session.scalar(select(User.password).where(User.id == user.id))
    token = await get_token(session, user) if user.is_active else None
    if user.is_active and (token is None or is_expired(token.created, user.token_lifetime, now)):
        token = await create_token(session, user, now)
    return DemoAccount(
        username=username,
        password=DEMO_PASSWORD,
        uuid=user.uuid,
        token=token.key if token is not None else None,
        password_works=user.is_active and await verify_password(encoded, DEMO_PASSWORD),
    )


async def count_users(session: AsyncSession) -> int:
    return await _count(session, User)


async def seed_demo(
    session: AsyncSession,
    settings: Settings,
    size: DemoSize,
    *,
    only_if_empty: bool = False,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> SeedResult:
    """Insert whatever part of the demo dataset of ``size`` is missing, and commit.

    Args:
        session: the session to write with; committed once, at the end.
        settings: the token lifetime given to demo users.
        size: how many users, customers and projects.
        only_if_empty: seed nothing when the database already has users (``make run``), but
            still report the demo accounts if an earlier run created them.
        progress: told about each batch, for a progress bar.
        now: the reference time the dataset's dates are spread around.

    Returns:
        The rows created per table, and the two demo accounts, each with a valid token.

    Raises:
        ValueError: projects were asked for without a customer to hold them.
    """
    if size.projects and not size.customers:
        raise ValueError("projects need a customer to belong to: use --customers 1 or more")
    progress = progress or (lambda _stage, _done, _total: None)
    now = now or utcnow()
    result = SeedResult()
    if only_if_empty and await count_users(session) > 0:
        result.skipped = True
    else:
        await _seed(session, settings, size, progress, now, result.created)
    result.staff = await _demo_account(session, DEMO_STAFF_USERNAME, now)
    result.owner = await _demo_account(session, DEMO_OWNER_USERNAME, now)
    await session.commit()
    return result


async def _seed(
    session: AsyncSession,
    settings: Settings,
    size: DemoSize,
    progress: ProgressCallback,
    now: datetime,
    created: dict[str, int],
) -> None:
    password_hash = hash_password(DEMO_PASSWORD)
    users = [
        demo_account_row(DEMO_STAFF_USERNAME, now, is_staff=True, password=password_hash),
        demo_account_row(DEMO_OWNER_USERNAME, now, password=password_hash),
        *(demo_user_row(i, now) for i in range(size.users)),
    ]
    for row in users:
        row["token_lifetime"] = settings.token_lifetime

    tables = {"users": User, "customers": Customer, "projects": Project, "roles": UserRole}
    before = {label: await _count(session, model) for label, model in tables.items()}
    user_ids = await _insert_users(session, users, progress)
    customers = [demo_customer_row(c, now) for c in range(size.customers)]
    customer_ids = await _insert_missing(session, Customer, customers, "customers", progress)
    projects = [
        demo_project_row(p, customer_ids[demo_uuid(f"customer:{p % size.customers}")], now)
        for p in range(size.projects)
    ]
    project_ids = await _insert_missing(session, Project, projects, "projects", progress)
    role_ids = dict((await session.execute(select(Role.name, Role.id))).tuples().all())
    roles = plan_roles(size, user_ids, customer_ids | project_ids, role_ids, now)
    await _insert_missing(session, UserRole, roles, "roles", progress)
    for label, count in before.items():
        created[label] = await _count(session, tables[label]) - count


async def _count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)
