"""The raw floor: the same JSON as gql-users' user list page (and ``me``), from one SQL statement.

What a hand-written endpoint costs at the least: aiohttp, one driver call (asyncpg on
PostgreSQL, aiosqlite on SQLite), one statement that authenticates the token, counts the users
and builds the page as JSON in the database, and orjson to compact it into the bytes gql-users
sends. It serves a staff caller only, with the default identity-provider settings and no ``?``
filter or ordering, which is all the benchmark asks of it. ``bench/run.py`` checks once per
run that its body is byte-equal to gql-users' for the same page.

It takes only the list of field names from gql_users (so that the two never drift apart); it
reads the tables directly and renders in SQL, so that it stays a floor.

    python bench/floor.py --database-url postgresql://... --port 8100 --public-url http://...
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from aiohttp import web

from gql_users.accounts.shaping import OWN_TOKEN_FIELDS, USER_FIELDS

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 300
LOCAL_IDP_NAME = "Local DB"  # gql-users' defaults of GQL_USERS_LOCAL_IDP_*
LOCAL_IDP_LABEL = "Local DB"
LOCAL_IDP_MANAGEMENT_URL = ""

# The serializer's fields in gql-users' order, for a staff caller: a list page of several users
# hides the token pair, the caller's own profile (``me``) shows it.
LIST_FIELDS = [name for name in USER_FIELDS if name not in OWN_TOKEN_FIELDS]
ME_FIELDS = list(USER_FIELDS)


@dataclass(frozen=True)
class Dialect:
    """The SQL spelling of each value gql-users renders, for one database."""

    name: str
    build_object: str
    aggregate: str
    empty_array: str
    true: str
    false: str

    def text(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def boolean(self, expression: str) -> str:
        return f"CASE WHEN {expression} THEN {self.true} ELSE {self.false} END"

    def uuid(self, expression: str) -> str:
        return expression if self.name == "sqlite" else f"replace({expression}::text, '-', '')"

    def datetime(self, expression: str, plus_seconds: str | None = None) -> str:
        """ISO 8601 in UTC with a ``Z``, microseconds only when not zero (as Python writes)."""
        if self.name == "sqlite":
            # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); whole seconds keep the fraction.
            shift = f", '+' || ({plus_seconds}) || ' seconds'" if plus_seconds else ""
            fraction = f"substr({expression}, 21, 6)"
            return (
                f"CASE WHEN {expression} IS NULL THEN NULL ELSE"
                f" strftime('%Y-%m-%dT%H:%M:%S', substr({expression}, 1, 19){shift})"
                f" || CASE WHEN coalesce({fraction}, '') IN ('', '000000') THEN ''"
                f" ELSE '.' || {fraction} END || 'Z' END"
            )
        if plus_seconds:
            expression = f"({expression} + make_interval(secs => {plus_seconds}))"
        utc = f"({expression} AT TIME ZONE 'UTC')"
        return (
            f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
            f" || CASE WHEN extract(microseconds FROM {utc})::int % 1000000 = 0 THEN ''"
            f" ELSE to_char({utc}, '.US') END || 'Z'"
        )

    def live_token(self, token: str, user: str) -> str:
        """The token's owner is active and the token has not expired."""
        if self.name == "sqlite":
            expires = (
                f"datetime(substr({token}.created, 1, 19),"
                f" '+' || {user}.token_lifetime || ' seconds')"
            )
            now = "datetime('now')"
        else:
            expires = f"{token}.created + make_interval(secs => {user}.token_lifetime)"
            now = "now()"
        return f"{user}.is_active AND ({user}.token_lifetime IS NULL OR {expires} >= {now})"

    def date(self, expression: str) -> str:
        return expression if self.name == "sqlite" else f"to_char({expression}, 'YYYY-MM-DD')"

    def full_name(self, alias: str) -> str:
        return f"trim({alias}.first_name || ' ' || {alias}.last_name)"

    def json_column(self, expression: str) -> str:
        return f"json(coalesce({expression}, '[]'))" if self.name == "sqlite" else expression

    def code_point(self, expression: str) -> str:
        return expression if self.name == "sqlite" else f'{expression} COLLATE "C"'

    def obj(self, pairs: list[tuple[str, str]]) -> str:
        return f"{self.build_object}(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"


POSTGRESQL = Dialect("postgresql", "json_build_object", "json_agg", "'[]'::json", "true", "false")
SQLITE = Dialect(
    "sqlite", "json_object", "json_group_array", "json('[]')", "json('true')", "json('false')"
)


def permission_object(d: Dialect) -> str:
    """One element of ``permissions``: ``created_by_*`` only with a creator, ``customer_*``
    only for a project role, as gql-users renders it."""
    head = [
        ("user_uuid", d.uuid("u.uuid")),
        ("user_name", d.full_name("u")),
        ("user_slug", "u.slug"),
        ("created", d.datetime("r.created")),
        ("expiration_time", d.datetime("r.expiration_time")),
    ]
    creator = [("created_by_full_name", d.full_name("cb")), ("created_by_username", "cb.username")]
    role = [
        ("role_name", "ro.name"),
        ("role_description", "ro.description"),
        ("role_uuid", d.uuid("ro.uuid")),
    ]
    customer_scope = [
        ("scope_type", "'customer'"),
        ("scope_uuid", d.uuid("sc.uuid")),
        ("scope_name", "sc.name"),
    ]
    project_scope = [
        ("scope_type", "'project'"),
        ("scope_uuid", d.uuid("p.uuid")),
        ("scope_name", "p.name"),
        ("customer_uuid", d.uuid("pc.uuid")),
        ("customer_name", "pc.name"),
    ]
    has_creator = "cb.username IS NOT NULL"
    return (
        f"CASE WHEN sc.id IS NOT NULL AND {has_creator} THEN"
        f" {d.obj(head + creator + role + customer_scope)}"
        f" WHEN sc.id IS NOT NULL THEN {d.obj(head + role + customer_scope)}"
        f" WHEN {has_creator} THEN {d.obj(head + creator + role + project_scope)}"
        f" ELSE {d.obj(head + role + project_scope)} END"
    )


def permissions_array(d: Dialect) -> str:
    joins = (
        "FROM user_roles r JOIN roles ro ON ro.id = r.role_id"
        " LEFT JOIN customers sc ON sc.id = r.customer_id"
        " LEFT JOIN projects p ON p.id = r.project_id"
        " LEFT JOIN customers pc ON pc.id = p.customer_id"
        " LEFT JOIN users cb ON cb.id = r.created_by_id"
        f" WHERE r.user_id = u.id AND r.is_active = {d.true if d.name != 'sqlite' else '1'}"
        " AND (sc.id IS NOT NULL OR pc.id IS NOT NULL)"
    )
    if d.name == "sqlite":
        return (
            f"(SELECT json_group_array(json(o)) FROM (SELECT {permission_object(d)} AS o"
            f" {joins} ORDER BY r.created, r.id))"
        )
    return (
        f"coalesce((SELECT json_agg({permission_object(d)} ORDER BY r.created, r.id) {joins}),"
        f" {d.empty_array})"
    )


def user_object(d: Dialect, fields: list[str], public_url: str) -> tuple[str, str]:
    base = d.text(public_url)
    default_method = "u.registration_method = 'default'"
    values = {
        "url": f"{base} || 'api/users/' || {d.uuid('u.uuid')} || '/'",
        "uuid": d.uuid("u.uuid"),
        "full_name": d.full_name("u"),
        "is_staff": d.boolean("u.is_staff"),
        "is_active": d.boolean("u.is_active"),
        "is_support": d.boolean("u.is_support"),
        "notifications_enabled": d.boolean("u.notifications_enabled"),
        "token": "t.key",
        "token_expires_at": d.datetime("t.created", "u.token_lifetime"),
        "date_joined": d.datetime("u.date_joined"),
        "agreement_date": d.datetime("u.agreement_date"),
        "permissions": permissions_array(d),
        "requested_email": "(SELECT e.email FROM email_change_requests e WHERE e.user_id = u.id)",
        "affiliations": d.json_column("u.affiliations"),
        "birth_date": d.date("u.birth_date"),
        "identity_provider_name": f"CASE WHEN {default_method} THEN"
        f" {d.text(LOCAL_IDP_NAME)} ELSE '' END",
        "identity_provider_label": f"CASE WHEN {default_method} THEN"
        f" {d.text(LOCAL_IDP_LABEL)} ELSE '' END",
        "identity_provider_management_url": f"CASE WHEN {default_method} THEN"
        f" {d.text(LOCAL_IDP_MANAGEMENT_URL)} ELSE '' END",
        "identity_provider_fields": d.empty_array,
        "image": f"CASE WHEN coalesce(u.image, '') = '' THEN NULL"
        f" ELSE {base} || 'media/' || u.image END",
        "has_active_session": d.boolean("t.key IS NOT NULL"),
    }
    # The object is built in two halves: PostgreSQL's json_build_object takes 100 arguments.
    pairs = [(name, values.get(name, f"u.{name}")) for name in fields]
    return d.obj(pairs[:25]), d.obj(pairs[25:])


def page_statement(d: Dialect, public_url: str) -> str:
    """Parameters: token key, limit, offset. Columns: the caller's id (NULL when the token is
    not a live staff or support token), the total, the page as a JSON array of the two halves
    of each user."""
    first, second = user_object(d, LIST_FIELDS, public_url)
    p = ["$1", "$2", "$3"] if d.name != "sqlite" else ["?1", "?2", "?3"]
    pair = (
        f"json_array(json({first}), json({second}))"
        if d.name == "sqlite"
        else f"json_build_array({first}, {second})"
    )
    order = f"{d.code_point('u.username')}, u.id"
    # The page's ids first: OFFSET rows are skipped before any JSON is built for them.
    page = (
        f"(SELECT u.id FROM users u ORDER BY {order} LIMIT {p[1]} OFFSET {p[2]}) page"
        " JOIN users u ON u.id = page.id LEFT JOIN auth_tokens t ON t.user_id = u.id"
    )
    body = (
        f"(SELECT json_group_array(json(o)) FROM (SELECT {pair} AS o FROM {page} ORDER BY {order}))"
        if d.name == "sqlite"
        else f"(SELECT json_agg({pair} ORDER BY {order}) FROM {page})"
    )
    return (
        f"SELECT (SELECT c.id FROM auth_tokens ct JOIN users c ON c.id = ct.user_id"
        f" WHERE ct.key = {p[0]} AND {d.live_token('ct', 'c')} AND (c.is_staff OR c.is_support)),"
        f" (SELECT count(*) FROM users), {body}"
    )


def me_statement(d: Dialect, public_url: str) -> str:
    """Parameter: token key. Column: the caller as the two halves of a JSON object (NULL when
    the token is unknown or its owner inactive)."""
    first, second = user_object(d, ME_FIELDS, public_url)
    p = "?1" if d.name == "sqlite" else "$1"
    pair = "json_array" if d.name == "sqlite" else "json_build_array"
    return (
        f"SELECT {pair}({first}, {second}) FROM auth_tokens t JOIN users u ON u.id = t.user_id"
        f" WHERE t.key = {p} AND {d.live_token('t', 'u')}"
    )


def join_halves(rows: Any) -> list[dict[str, Any]]:
    return [first | second for first, second in rows]


def page_size(raw: str | None) -> int:
    try:
        size = int(raw) if raw is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE) if size > 0 else DEFAULT_PAGE_SIZE


def link_header(public_url: str, request: web.Request, number: int, pages: int) -> str:
    def url(page: int) -> str:
        params = [(k, v) for k, v in request.query.items() if k != "page"]
        if page != 1:
            params.append(("page", str(page)))
        query = urlencode(params, quote_via=quote, safe="")
        base = public_url.rstrip("/") + request.path
        return f"{base}?{query}" if query else base

    links = [("first", 1), ("prev", number - 1 if number > 1 else None)]
    links += [("next", number + 1 if number < pages else None), ("last", pages)]
    return ", ".join(f'<{url(n)}>; rel="{name}"' for name, n in links if n is not None)


Fetch = Callable[[str, tuple[Any, ...]], Awaitable[tuple[Any, ...] | None]]


def make_app(fetch: Fetch, dialect: Dialect, public_url: str) -> web.Application:
    page_sql = page_statement(dialect, public_url)
    me_sql = me_statement(dialect, public_url)

    def token(request: web.Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        return key.strip() if scheme.lower() == "token" else ""

    def unauthorized() -> web.Response:
        body = orjson.dumps({"detail": "Invalid token."})
        return web.Response(body=body, status=401, content_type="application/json")

    async def users(request: web.Request) -> web.Response:
        size = page_size(request.query.get("page_size"))
        try:
            number = int(request.query.get("page", "1"))
        except ValueError:
            number = 0
        row = await fetch(page_sql, (token(request), size, (max(number, 1) - 1) * size))
        if row is None or row[0] is None:
            return unauthorized()
        total, body = row[1], row[2]
        pages = max(1, math.ceil(total / size))
        if not 1 <= number <= pages:
            body = orjson.dumps({"detail": "Invalid page."})
            return web.Response(body=body, status=404, content_type="application/json")
        page = join_halves(orjson.loads(body)) if body else []
        headers = {
            "X-Result-Count": str(total),
            "Link": link_header(public_url, request, number, pages),
        }
        return web.Response(
            body=orjson.dumps(page), content_type="application/json", headers=headers
        )

    async def me(request: web.Request) -> web.Response:
        row = await fetch(me_sql, (token(request),))
        if row is None or row[0] is None:
            return unauthorized()
        (user,) = join_halves([orjson.loads(row[0])])
        user["ip_address"] = request.remote
        return web.Response(
            body=orjson.dumps(user),
            content_type="application/json",
            headers={"X-Result-Count": "1"},
        )

    app = web.Application()
    app.router.add_get("/api/users/", users)
    app.router.add_get("/api/users/me/", me)
    return app


async def open_database(url: str) -> tuple[Fetch, Dialect, Callable[[], Awaitable[None]]]:
    """A fetch-one function over a pool (PostgreSQL) or one connection (SQLite)."""
    if url.startswith("sqlite"):
        import aiosqlite

        connection = await aiosqlite.connect(url.split(":///", 1)[1])

        async def fetch_sqlite(sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
            async with connection.execute(sql, args) as cursor:
                row = await cursor.fetchone()
            return tuple(row) if row is not None else None

        return fetch_sqlite, SQLITE, connection.close

    import asyncpg

    pool = await asyncpg.create_pool(url.replace("+asyncpg", ""), min_size=1, max_size=10)

    async def fetch_postgresql(sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        row = await pool.fetchrow(sql, *args)
        return tuple(row) if row is not None else None

    return fetch_postgresql, POSTGRESQL, pool.close


async def create_floor(url: str, public_url: str) -> web.Application:
    fetch, dialect, close = await open_database(url)
    app = make_app(fetch, dialect, public_url)

    async def on_cleanup(_app: web.Application) -> None:
        await close()

    app.on_cleanup.append(on_cleanup)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--public-url", default="http://127.0.0.1:8000/")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    web.run_app(
        create_floor(args.database_url, args.public_url),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
