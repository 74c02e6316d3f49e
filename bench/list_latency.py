"""Latency of listing users through REST and GraphQL, first pages against deep pages.

Seeds a demo dataset into a fresh database (SQLite by default; set
GQL_USERS_BENCH_DATABASE_URL to a PostgreSQL URL to measure there), serves the app on 127.0.0.1
and times sequential requests of a staff caller. It prints, per scenario, the median and the
95th percentile in milliseconds and the SQL statements one request runs.

What it shows: REST pages cost a COUNT plus OFFSET, so a deep page costs more than the first;
GraphQL keyset cursors make a deep page cost what the first does.

    make bench                       # or: .venv/bin/python bench/list_latency.py --users 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from gql_users.db.engine import create_engine, create_sessionmaker
from gql_users.db.migrate import migrate
from gql_users.demo.data import DemoSize
from gql_users.demo.seed import seed_demo
from gql_users.settings import Settings
from gql_users.web.app import create_app

USERS_PAGE = """
query Page($after: String, $offset: Int) {
  users(first: 50, after: $after, offset: $offset) {
    pageInfo { endCursor hasNextPage }
    edges { node { uuid username fullName permissions { roleName scopeName } } }
  }
}
"""


async def prepare(url: str, users: int) -> str:
    """Migrate and seed; returns the demo staff token."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with create_sessionmaker(engine)() as session:
            result = await seed_demo(
                session,
                Settings(database_url=url),
                DemoSize(users=users, customers=max(1, users // 50), projects=max(1, users // 20)),
            )
        assert result.staff is not None and result.staff.token is not None
        return result.staff.token
    finally:
        await engine.dispose()


async def timed(
    name: str, call: Callable[[], Awaitable[tuple[int, int]]], repeat: int
) -> dict[str, Any]:
    durations: list[float] = []
    statements = 0
    for _ in range(repeat):
        start = time.perf_counter()
        status, statements = await call()
        durations.append((time.perf_counter() - start) * 1000)
        assert status == 200, f"{name}: HTTP {status}"
    durations.sort()
    return {
        "scenario": name,
        "median_ms": statistics.median(durations),
        "p95_ms": durations[int(len(durations) * 0.95) - 1],
        "sql": statements,
    }


async def deep_cursor(client: TestClient, headers: dict[str, str], pages: int) -> str | None:
    """The cursor after ``pages`` pages of 50, reached by walking (as a client would)."""
    after = None
    for _ in range(pages):
        response = await client.post(
            "/graphql", json={"query": USERS_PAGE, "variables": {"after": after}}, headers=headers
        )
        after = (await response.json())["data"]["users"]["pageInfo"]["endCursor"]
    return after


async def run(url: str, users: int, repeat: int) -> list[dict[str, Any]]:
    token = await prepare(url, users)
    settings = Settings(database_url=url, debug_sql=True)
    headers = {"Authorization": f"Token {token}"}
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
    await client.start_server()
    try:
        last_page = -(-(users + 2) // 50)
        deep_pages = max(1, last_page - 2)
        cursor = await deep_cursor(client, headers, deep_pages)

        def rest(path: str) -> Callable[[], Awaitable[tuple[int, int]]]:
            async def call() -> tuple[int, int]:
                response = await client.get(path, headers=headers)
                await response.read()
                return response.status, int(response.headers["X-SQL-Count"])

            return call

        def graphql(variables: dict[str, Any]) -> Callable[[], Awaitable[tuple[int, int]]]:
            async def call() -> tuple[int, int]:
                response = await client.post(
                    "/graphql", json={"query": USERS_PAGE, "variables": variables}, headers=headers
                )
                body = await response.json()
                assert "errors" not in body, body
                return response.status, int(body["extensions"]["sqlCount"])

            return call

        scenarios = [
            ("REST page 1 (page_size=50)", rest("/api/users/?page_size=50")),
            (
                f"REST page {deep_pages} (offset)",
                rest(f"/api/users/?page_size=50&page={deep_pages}"),
            ),
            ("REST full_name filter", rest("/api/users/?page_size=50&full_name=jurimae")),
            ("GraphQL first page", graphql({})),
            (f"GraphQL page {deep_pages + 1} (cursor)", graphql({"after": cursor})),
            (f"GraphQL page {deep_pages + 1} (offset)", graphql({"offset": deep_pages * 50})),
        ]
        return [await timed(name, call, repeat) for name, call in scenarios]
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gql-users-bench-") as directory:
        url = os.environ.get(
            "GQL_USERS_BENCH_DATABASE_URL",
            f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}",
        )
        backend = url.split(":", 1)[0]
        rows = asyncio.run(run(url, args.users, args.repeat))
    print(f"{args.users} demo users on {backend}, {args.repeat} sequential requests each")
    print(f"{'scenario':<34} {'median ms':>10} {'p95 ms':>8} {'SQL':>5}")
    for row in rows:
        print(
            f"{row['scenario']:<34} {row['median_ms']:>10.1f} {row['p95_ms']:>8.1f} {row['sql']:>5}"
        )


if __name__ == "__main__":
    main()
