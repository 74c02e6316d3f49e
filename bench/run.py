"""``make bench``: gql-users against a raw floor and against a previous version, in one run.

It starts a throwaway PostgreSQL server (as the test suite does) and uses SQLite files, seeds
reproducible demo data with each tree's own ``gql-users seed-demo`` (deterministic uuids; the
baseline gets a copy of the current tree's database when both have the same migrations and demo
data), and serves on 127.0.0.1: the current tree, the baseline tree (``BENCH_BASELINE``, a git
ref, by default the one in bench/BASELINE; checked out with ``git worktree add`` into a
temporary directory with its own virtualenv from its own lock) and the floor (bench/floor.py).
Each
scenario is measured in short rounds, the servers taking turns within a round (the order
rotates each round), with ``hey`` when installed (``apt-get install hey``) or a lean asyncio
client, at 1 and 4 concurrent clients. Every verdict is a ratio of two figures of this run.

Writes bench/results/<UTC date>.json and bench/results/<UTC date>.md with PNG plots beside it.

    make bench                          # the full run (15 minutes or less on a quiet machine)
    .venv/bin/python bench/run.py --quick   # small data, short rounds, no baseline (minutes)
    BENCH_BASELINE=HEAD~3 make bench    # measure against another version
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pgserver import PostgresServer, free_port  # noqa: E402

BENCH = ROOT / "bench"
PUBLIC_URL = "http://127.0.0.1:8000/"
STAFF_TOKEN = re.compile(r"^Demo staff:\n(?:.*\n)*?\s+token:\s+(\S+)", re.MULTILINE)
HEY_HINT = "hey not found: using the asyncio client (apt-get install hey for a compiled one)"

GRAPHQL_PAGE = """query Page($after: String) {
  users(first: 50, after: $after) {
    pageInfo { endCursor hasNextPage }
    edges { node { uuid username fullName email permissions {
      role { name } scope { ... on Customer { uuid name } ... on Project { uuid name } }
      customer { uuid name } createdBy { username } } } }
  }
}"""
GRAPHQL_WALK = """query Walk($after: String) {
  users(first: 50, after: $after) { pageInfo { endCursor hasNextPage } }
}"""
GRAPHQL_WIDE = """query Wide {
  users(first: 50) {
    totalCount
    edges { node { uuid username fullName email firstName lastName organization jobTitle
      phoneNumber civilNumber isActive isStaff isSupport dateJoined
      permissions {
        role { name description } created expirationTime
        scope { ... on Customer { uuid name abbreviation } ... on Project { uuid name } }
        customer { uuid name } createdBy { username fullName } user { username fullName email }
      } } }
  }
}"""
"""Heavier than the bench page on the server's side for the same SQL: the worker target's
request, so that one process, not the database or the load generator, is the bottleneck."""
RARE_USERS = [
    {"username": f"rare.searched{n}", "email": f"quintessa.vandersloot{n}@bench.example",
     "first_name": "Quintessa", "last_name": f"Vandersloot-{n}"}
    for n in range(3)
]  # fmt: skip
"""Added to the deep datasets through the REST API (the baseline's too): a search that matches
3 users, to compare with the exact username lookup on equal terms (as many rows rendered)."""
RARE_TERM = "vandersloot"
GRAPHQL_FILTER = """query Find($filter: UserFilterInput) {
  users(first: 50, filter: $filter) { edges { node { uuid username fullName } } }
}"""


@dataclass(frozen=True)
class Dataset:
    key: str
    backend: str  # "postgresql" or "sqlite"
    users: int
    customers: int
    projects: int
    kind: str  # "list": the list page, GraphQL and me; "deep": deep pages and filters


@dataclass
class Server:
    name: str  # current, baseline, floor, current-2w
    dataset: str
    url: str
    process: subprocess.Popen[bytes]
    token: str
    database_pid: int | None = None  # PostgreSQL's postmaster; None on SQLite


@dataclass
class Scenario:
    key: str
    dataset: str
    title: str
    path: str
    servers: list[str]
    clients: tuple[int, ...]
    graphql: dict[str, Any] | None = None  # the body; per server when "after" differs
    bodies: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Tree:
    name: str
    root: Path
    bin: Path


# ---------------------------------------------------------------- processes and databases


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def process_tree(pid: int) -> list[int]:
    """A process and its children (gunicorn's workers, PostgreSQL's backends)."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (gunicorn workers), in KiB."""
    total = 0
    for item in process_tree(pid):
        try:
            for line in Path(f"/proc/{item}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each process still alive, in seconds."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return found


def machine_busy() -> tuple[float, float]:
    """Busy and total CPU time of the whole machine so far (all cores), in ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU spent during one run by the server (with its workers), by PostgreSQL (all its
    processes; none for SQLite) and by the load generator, and how busy the machine was: the
    figures behind the "what 2 cores allow" bound of the worker target."""

    def __init__(self, server_pid: int, database_pid: int | None) -> None:
        self.server = process_tree(server_pid)
        self.database = process_tree(database_pid) if database_pid else []

    def __enter__(self) -> CpuMeter:
        self.started = (cpu_seconds(self.server), cpu_seconds(self.database))
        self.client = client_cpu()
        self.busy = machine_busy()
        return self

    def __exit__(self, *_: object) -> None:
        def spent(before: dict[int, float], pids: list[int]) -> float:
            after = cpu_seconds(pids)
            return sum(after[pid] - before[pid] for pid in after if pid in before)

        busy, total = machine_busy()
        self.figures = {
            "server": spent(self.started[0], self.server),
            "database": spent(self.started[1], self.database),
            "client": client_cpu() - self.client,
            "machine_busy": (busy - self.busy[0]) / max(1, total - self.busy[1]),
        }


def client_cpu() -> float:
    """CPU seconds of the load generator so far: hey is a child the run reaps, the asyncio
    client runs in this process (which does little else meanwhile)."""
    children, own = (
        resource.getrusage(resource.RUSAGE_CHILDREN),
        resource.getrusage(resource.RUSAGE_SELF),
    )
    return children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.0f} s] {message}", flush=True)


def same_schema(current: Tree, tree: Tree) -> bool:
    """The same migrations (file names and contents): the same tables and the same demo rows."""
    versions = Path("gql_users/db/migrations/versions")

    def files(root: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in (root / versions).glob("*.py")}

    def demo_rows(root: Path) -> bytes | None:
        """The demo data module, where the tree keeps it (it moved out of ``accounts``)."""
        for path in ("gql_users/demo/data.py", "gql_users/accounts/demo_data.py"):
            if (root / path).exists():
                return (root / path).read_bytes()
        return None

    same_migrations = files(current.root) == files(tree.root)
    return same_migrations and demo_rows(current.root) == demo_rows(tree.root)


def count_rows(url: str) -> dict[str, int]:
    """What the seeder made: users and active roles (the targets name them)."""
    from sqlalchemy import func, select

    from gql_users.db.engine import create_engine
    from gql_users.db.models import User, UserRole

    async def count() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                users = await connection.scalar(select(func.count(User.id)))
                roles = await connection.scalar(
                    select(func.count(UserRole.id)).where(UserRole.is_active.is_(True))
                )
        finally:
            await engine.dispose()
        return {"users": int(users or 0), "active_roles": int(roles or 0)}

    return asyncio.run(count())


def vacuum_analyze(url: str) -> None:
    """Planner statistics and the visibility map, as a live database has them: a database
    copied from a template has no activity counters, so autovacuum would never analyze it, and
    the copy would be measured with plans made blind."""
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()

    asyncio.run(run())


def copy_database(
    pg_url: str | None, source: str, workdir: Path, dataset: Dataset, tree: str
) -> str:
    """A copy of ``source`` (no connection may be open on it)."""
    if pg_url is None:
        target = workdir / f"{dataset.key}-{tree}.db"
        shutil.copyfile(source.split(":///", 1)[1], target)
        return f"sqlite+aiosqlite:///{target}"
    return database_url(pg_url, workdir, dataset, tree, template=source.rsplit("/", 1)[1])


def database_url(
    pg_url: str | None, workdir: Path, dataset: Dataset, tree: str, template: str = "template1"
) -> str:
    if dataset.backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / f'{dataset.key}-{tree}.db'}"
    assert pg_url is not None
    name = f"bench_{dataset.key}_{tree}".replace("-", "_")
    command = [sys.executable, "-c", CREATE_DATABASE, pg_url, name, template]
    subprocess.run(command, check=True, cwd=ROOT)
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


CREATE_DATABASE = (
    "import asyncio, sys, asyncpg\n"
    "async def main():\n"
    "    connection = await asyncpg.connect(sys.argv[1].replace('+asyncpg', ''))\n"
    "    await connection.execute(f'CREATE DATABASE {sys.argv[2]} TEMPLATE {sys.argv[3]}')\n"
    "    await connection.close()\n"
    "asyncio.run(main())\n"
)


def seed(tree: Tree, url: str, dataset: Dataset, log: Path) -> str:
    """Migrate and seed with the tree's own CLI; returns the demo staff token."""
    env = {**os.environ, "GQL_USERS_DATABASE_URL": url, "GQL_USERS_PUBLIC_URL": PUBLIC_URL}
    cli = str(tree.bin / "gql-users")
    with log.open("ab") as out:
        subprocess.run([cli, "migrate"], env=env, check=True, stdout=out, stderr=out, cwd=tree.root)
    result = subprocess.run(
        [cli, "seed-demo", "--users", str(dataset.users), "--customers", str(dataset.customers),
         "--projects", str(dataset.projects)],
        env=env, check=True, capture_output=True, text=True, cwd=tree.root,
    )  # fmt: skip
    match = STAFF_TOKEN.search(result.stdout)
    if match is None:
        raise RuntimeError(f"no staff token in seed-demo's output:\n{result.stdout[-1000:]}")
    return match.group(1)


def serves_workers(tree: Tree) -> bool:
    result = subprocess.run(
        [str(tree.bin / "gql-users"), "serve", "--help"], capture_output=True, text=True
    )
    return "--workers" in result.stdout


def start_process(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> Any:
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)


def start_gql_users(
    tree: Tree, url: str, workdir: Path, name: str, workers: int | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {
        **os.environ,
        "GQL_USERS_DATABASE_URL": url,
        "GQL_USERS_PUBLIC_URL": PUBLIC_URL,
        "GQL_USERS_DEBUG_SQL": "1",  # X-SQL-Count / extensions.sqlCount: one counter per request
        "GQL_USERS_LOG_LEVEL": "WARNING",
        "GQL_USERS_MAIL_DIR": str(workdir / name / "mail"),
        "GQL_USERS_MEDIA_DIR": str(workdir / name / "media"),
    }
    command = [str(tree.bin / "gql-users"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is None and serves_workers(tree):
        workers = 1  # serve's default is one worker per core: compare one process with another
    if workers:
        command += ["--workers", str(workers)]
    log = workdir / f"{name}.log"
    process = start_process(command, env, log, tree.root)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base + "/health", process, log, 60)
    return base, process


def start_floor(url: str, workdir: Path, name: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    command = [sys.executable, str(BENCH / "floor.py"), "--database-url", url, "--port", str(port)]
    command += ["--public-url", PUBLIC_URL]
    log = workdir / f"{name}.log"
    process = start_process(command, dict(os.environ), log, ROOT)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base + "/api/users/me/", process, log, 60)
    return base, process


@contextmanager
def baseline_tree(ref: str, workdir: Path) -> Iterator[Tree]:
    """The baseline checked out with ``git worktree add`` and its own virtualenv."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    path = workdir / "baseline"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), commit],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    try:
        venv = path / ".venv"
        log = workdir / "baseline-install.log"
        with log.open("ab") as out:
            subprocess.run(["python3", "-m", "venv", str(venv)], check=True, stdout=out)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
            subprocess.run(
                [*pip, "install", "--require-hashes", "-r", str(path / "requirements/run.txt")],
                check=True, stdout=out, stderr=out,
            )  # fmt: skip
            subprocess.run(
                [*pip, "install", "--no-deps", "-e", str(path)], check=True, stdout=out, stderr=out
            )
        yield Tree(f"{ref} ({commit[:10]})", path, venv / "bin")
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True
        )


# ---------------------------------------------------------------- load generation


def request_args(server: Server, scenario: Scenario) -> tuple[str, str, bytes | None]:
    url = server.url + scenario.path
    body = scenario.bodies.get(server.name)
    return ("POST" if body is not None else "GET"), url, body


def run_hey(
    hey: str, server: Server, scenario: Scenario, clients: int, seconds: float
) -> dict[str, Any]:
    method, url, body = request_args(server, scenario)
    command = [hey, "-z", f"{seconds}s", "-c", str(clients), "-m", method, "-o", "csv"]
    command += ["-H", f"Authorization: Token {server.token}"]
    if body is not None:
        command += ["-T", "application/json", "-d", body.decode()]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latencies, errors, end = [], 0, 0.0
    for row in csv.DictReader(io.StringIO(output)):
        elapsed = float(row["response-time"])
        end = max(end, float(row["offset"]) + elapsed)
        if row["status-code"] == "200":
            latencies.append(round(elapsed * 1000, 2))
        else:
            errors += 1
    return {"latencies_ms": latencies, "errors": errors, "elapsed_s": max(end, seconds)}


async def run_asyncio(
    server: Server, scenario: Scenario, clients: int, seconds: float
) -> dict[str, Any]:
    import aiohttp

    method, url, body = request_args(server, scenario)
    headers = {"Authorization": f"Token {server.token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            async with http.request(method, url, data=body, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    latencies.append(round((time.perf_counter() - began) * 1000, 2))
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(clients)))
    return {
        "latencies_ms": latencies,
        "errors": errors,
        "elapsed_s": time.perf_counter() - start,
    }


def fetch(server: Server, scenario: Scenario) -> tuple[int, dict[str, str], bytes]:
    method, url, body = request_args(server, scenario)
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Token {server.token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sql_count(headers: dict[str, str], body: bytes) -> int | None:
    if "X-SQL-Count" in headers:
        return int(headers["X-SQL-Count"])
    try:
        return int(json.loads(body)["extensions"]["sqlCount"])
    except (ValueError, KeyError, TypeError):
        return None


def walk_cursor(server: Server, pages: int) -> str | None:
    """The cursor after ``pages`` pages of 50, reached as a client would (asking only for the
    cursors: the same ordering, so the same cursor as the full page's)."""
    after = None
    probe = Scenario("walk", server.dataset, "", "/graphql", [server.name], (1,))
    for _ in range(pages):
        body = {"query": GRAPHQL_WALK, "variables": {"after": after}}
        probe.bodies[server.name] = json.dumps(body).encode()
        status, _headers, raw = fetch(server, probe)
        page = json.loads(raw)["data"]["users"]
        after = page["pageInfo"]["endCursor"]
        if status != 200 or not page["pageInfo"]["hasNextPage"]:
            break
    return after


# ---------------------------------------------------------------- the plan


def datasets(quick: bool) -> list[Dataset]:
    scale = 20 if quick else 1
    return [
        # 30 customers and 90 projects give the 200 demo users about 3 roles each.
        Dataset("small-pg", "postgresql", 200, 30, 90, "list"),
        Dataset("small-sqlite", "sqlite", 200, 30, 90, "list"),
        Dataset("medium-sqlite", "sqlite", 20_000 // scale, 400 // scale, 1200 // scale, "deep"),
        Dataset("large-pg", "postgresql", 100_000 // scale, 2000 // scale, 6000 // scale, "deep"),
    ]


def scenarios(data: list[Dataset], deep_pages: int) -> list[Scenario]:
    gql = ["current", "baseline"]
    plan: list[Scenario] = []
    for dataset in data:
        key = dataset.key
        if dataset.kind == "list":
            plan += [
                Scenario(f"{key}/rest-list", key, "REST GET /api/users/?page_size=50",
                         "/api/users/?page_size=50", ["floor", *gql, "current-2w"], (1, 4)),
                Scenario(f"{key}/graphql-list", key, "GraphQL users(first: 50) with permissions",
                         "/graphql", gql, (1, 4), {"query": GRAPHQL_PAGE}),
                Scenario(f"{key}/me", key, "REST GET /api/users/me/", "/api/users/me/",
                         ["floor", *gql], (1, 4)),
            ]  # fmt: skip
            if dataset.backend == "postgresql":
                plan.append(
                    Scenario(f"{key}/graphql-wide", key,
                             "GraphQL users(first: 50), every user field, nested permissions",
                             "/graphql", ["current", "current-2w"], (4,), {"query": GRAPHQL_WIDE})
                )  # fmt: skip
            continue
        # The middle page: the deepest page for a server that may walk the index from either
        # end (the last pages are as near to one end as the first).
        deep_rest = max(1, dataset.users // 50 // 2)
        deep_cursor = min(deep_pages, deep_rest)
        filters = {
            "username": ("username={username}", {"username": "{username}"}),
            "full_name": ("full_name=jurimae", {"fullName": "jurimae"}),
            "query": ("query=okafor", {"query": "okafor"}),
            "email": ("email=jurimae", None),
            "full_name-rare": (f"full_name={RARE_TERM}", {"fullName": RARE_TERM}),
            "query-rare": (f"query={RARE_TERM}", {"query": RARE_TERM}),
            "email-rare": (f"email={RARE_TERM}", None),
        }
        plan += [
            Scenario(f"{key}/rest-page-1", key, "REST page 1", "/api/users/?page_size=50",
                     ["floor", *gql], (1,)),
            Scenario(f"{key}/rest-page-deep", key, f"REST page {deep_rest}",
                     f"/api/users/?page_size=50&page={deep_rest}", ["floor", *gql], (1,)),
            Scenario(f"{key}/graphql-page-1", key, "GraphQL first page", "/graphql", gql, (1,),
                     {"query": GRAPHQL_PAGE}),
            Scenario(f"{key}/graphql-cursor-deep", key, f"GraphQL cursor {deep_cursor} pages deep",
                     "/graphql", gql, (1,), {"query": GRAPHQL_PAGE, "deep": deep_cursor}),
        ]  # fmt: skip
        for name, (query, graphql_filter) in filters.items():
            # The rare term's scenarios serve one verdict each: the current version only.
            servers = ["current"] if name.endswith("-rare") else gql
            plan.append(
                Scenario(f"{key}/rest-filter-{name}", key, f"REST ?{query}",
                         f"/api/users/?page_size=50&{query}", list(servers), (1,))
            )  # fmt: skip
            if graphql_filter:
                plan.append(
                    Scenario(f"{key}/graphql-filter-{name}", key, f"GraphQL filter {name}",
                             "/graphql", list(servers), (1,),
                             {"query": GRAPHQL_FILTER, "variables": {"filter": graphql_filter}})
                )  # fmt: skip
    return plan


# ---------------------------------------------------------------- the run


def measure(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    hey = shutil.which("hey") if args.client != "asyncio" else None
    if hey is None and args.client != "asyncio":
        print(HEY_HINT)
    ref = args.baseline
    data = datasets(args.quick)
    plan = scenarios(data, args.deep_pages)
    notes: list[str] = []
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "load_generator": "hey" if hey else "asyncio",
        "commit": git_describe(ROOT),
        "baseline": None,
        "datasets": {d.key: vars(d) for d in data},
        "notes": notes,
        "checks": {},
        "runs": [],
        "sql": {},
        "rss_kib": {},
    }
    with tempfile.TemporaryDirectory(prefix="gql-users-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        current = Tree("current", ROOT, Path(sys.executable).parent)
        trees = {"current": current}
        if ref:
            say(f"baseline {ref}: git worktree add + virtualenv")
            try:
                trees["baseline"] = stack.enter_context(baseline_tree(ref, workdir))
                results["baseline"] = trees["baseline"].name
            except subprocess.CalledProcessError as error:
                notes.append(f"baseline {ref} could not be set up ({error}); measured without it")
        pg = PostgresServer()
        pg_url = pg.start()
        stack.callback(pg.stop)
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
        servers: dict[tuple[str, str], Server] = {}
        processes: list[subprocess.Popen[bytes]] = []

        def stop_all() -> None:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()

        stack.callback(stop_all)
        workers = serves_workers(current)
        if not workers:
            notes.append("`gql-users serve` has no --workers here: the 2-worker run is skipped")
        for dataset in data:
            urls: dict[str, str] = {}
            tokens: dict[str, str] = {}
            for name, tree in trees.items():
                server_url = pg_url if dataset.backend == "postgresql" else None
                if urls and same_schema(current, tree):
                    say(f"{dataset.key}: a copy of the current tree's database for {name}")
                    urls[name] = copy_database(server_url, urls["current"], workdir, dataset, name)
                    tokens[name] = tokens["current"]
                    continue
                say(f"{dataset.key}: seeding {dataset.users} users for {name}")
                url = database_url(server_url, workdir, dataset, name)
                try:
                    tokens[name] = seed(tree, url, dataset, workdir / f"seed-{name}.log")
                except (subprocess.CalledProcessError, RuntimeError) as error:
                    notes.append(f"{name} could not seed {dataset.key}: {error}")
                    continue
                urls[name] = url
                if name == "current":
                    results["datasets"][dataset.key]["rows"] = count_rows(url)
            if dataset.backend == "postgresql":
                for url in urls.values():
                    vacuum_analyze(url)
            say(f"{dataset.key}: starting the servers")
            for name, url in urls.items():
                kinds: list[tuple[str, int | None]] = [(name, None)]
                if name == "current":
                    kinds.append(("floor", None))
                    if workers and dataset.backend == "postgresql" and dataset.kind == "list":
                        kinds.append(("current-2w", 2))
                for kind, count in kinds:
                    label = f"{dataset.key}-{kind}"
                    if kind == "floor":
                        base, process = start_floor(url, workdir, label)
                    else:
                        base, process = start_gql_users(trees[name], url, workdir, label, count)
                    processes.append(process)
                    servers[(dataset.key, kind)] = Server(
                        kind, dataset.key, base, process, tokens[name],
                        postmaster if dataset.backend == "postgresql" else None,
                    )  # fmt: skip
        active = prepare(plan, servers, results)
        say(f"setup done; measuring {len(active)} scenarios")
        for round_number in range(args.rounds):
            for scenario in active:
                for clients in scenario.clients:
                    names = [n for n in scenario.servers if (scenario.dataset, n) in servers]
                    if "current-2w" in names and clients == 1:
                        names.remove("current-2w")
                    shift = round_number % len(names)
                    for name in names[shift:] + names[:shift]:
                        server = servers[(scenario.dataset, name)]
                        with CpuMeter(server.process.pid, server.database_pid) as meter:
                            if hey:
                                run = run_hey(hey, server, scenario, clients, args.seconds)
                            else:
                                run = asyncio.run(
                                    run_asyncio(server, scenario, clients, args.seconds)
                                )
                        run["cpu_s"] = meter.figures
                        rss = rss_kib(server.process.pid)
                        key = f"{scenario.dataset}/{name}"
                        results["rss_kib"][key] = max(results["rss_kib"].get(key, 0), rss)
                        results["runs"].append({
                            "scenario": scenario.key, "title": scenario.title, "server": name,
                            "clients": clients, "round": round_number, **run,
                        })  # fmt: skip
            say(f"round {round_number + 1}/{args.rounds} done")
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    return results


def prepare(
    plan: list[Scenario], servers: dict[tuple[str, str], Server], results: dict[str, Any]
) -> list[Scenario]:
    """Bodies per server (deep cursors walked once), then one probe per scenario and server:
    HTTP 200, the SQL statements it ran, and the floor's bytes against gql-users'."""
    active = []
    for (dataset, name), server in servers.items():
        deep = any(s.dataset == dataset and "filter" in s.key for s in plan)
        if deep and name != "floor":
            add_rare_users(server)
    for scenario in plan:
        if "{username}" in scenario.path or "{username}" in json.dumps(scenario.graphql):
            username = middle_username(servers[(scenario.dataset, "current")])
            scenario.path = scenario.path.replace("{username}", username)
            scenario.graphql = scenario.graphql and json.loads(
                json.dumps(scenario.graphql).replace("{username}", username)
            )
        for name in list(scenario.servers):
            server = servers.get((scenario.dataset, name))
            if server is None:
                scenario.servers.remove(name)
                continue
            if scenario.graphql is not None:
                body = {k: v for k, v in scenario.graphql.items() if k != "deep"}
                if "deep" in scenario.graphql:
                    body["variables"] = {"after": walk_cursor(server, scenario.graphql["deep"])}
                scenario.bodies[name] = json.dumps(body).encode()
            status, headers, raw = fetch(server, scenario)
            broken = status != 200 or (scenario.graphql is not None and b'"errors"' in raw)
            if broken:
                results["notes"].append(f"{scenario.key} on {name}: HTTP {status}, left out")
                scenario.servers.remove(name)
                continue
            # The floor runs one statement by construction; gql-users counts its own.
            count = 1 if name == "floor" else sql_count(headers, raw)
            results["sql"].setdefault(scenario.key, {})[name] = count
            if name == "floor":
                # gql-users first: the request may slide the caller's token (and so its
                # token_expires_at), which the floor's answer must then show too.
                _s, expected_headers, expected = fetch(servers[(scenario.dataset, "current")],
                                                       scenario)  # fmt: skip
                _s, headers, raw = fetch(server, scenario)
                same = raw == expected and all(
                    headers.get(h) == expected_headers.get(h) for h in ("X-Result-Count", "Link")
                )
                results["checks"][f"{scenario.key}: floor bytes == gql-users bytes"] = same
        if len(scenario.servers) > 0:
            active.append(scenario)
    return active


def add_rare_users(server: Server) -> None:
    """``RARE_USERS``, created through the API as staff (already there: left as they are)."""
    for user in RARE_USERS:
        request = urllib.request.Request(
            server.url + "/api/users/", data=json.dumps(user).encode(), method="POST"
        )
        request.add_header("Authorization", f"Token {server.token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60):
                pass
        except urllib.error.HTTPError as error:
            if error.code != 400:  # 400: the username is taken, from an earlier server's run
                raise


def middle_username(server: Server) -> str:
    """A username from the middle of the list, for the exact lookup."""
    probe = Scenario("probe", server.dataset, "", "/api/users/?page_size=1", [], (1,))
    _status, headers, _raw = fetch(server, probe)
    probe.path += f"&page={int(headers['X-Result-Count']) // 2}"
    _status, _headers, raw = fetch(server, probe)
    return str(json.loads(raw)[0]["username"])


def git_describe(path: Path) -> str:
    result = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=path, capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def summarize(results: dict[str, Any]) -> None:
    """Per (scenario, server, clients): throughput and latency percentiles over all rounds."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault((run["scenario"], run["server"], run["clients"]), []).append(run)
    summary = []
    for (scenario, server, clients), runs in groups.items():
        latencies = sorted(x for run in runs for x in run["latencies_ms"])
        elapsed = sum(run["elapsed_s"] for run in runs)

        def percentile(p: float, values: list[float] = latencies) -> float | None:
            return values[min(len(values) - 1, int(len(values) * p))] if values else None

        summary.append({
            "scenario": scenario, "title": runs[0]["title"], "server": server,
            "clients": clients, "requests": len(latencies),
            "errors": sum(run["errors"] for run in runs),
            "rps": len(latencies) / elapsed if elapsed else 0.0,
            "rps_rounds": [len(r["latencies_ms"]) / r["elapsed_s"] for r in runs],
            "p50_ms": percentile(0.5), "p90_ms": percentile(0.9), "p99_ms": percentile(0.99),
            "mean_ms": statistics.fmean(latencies) if latencies else None,
            **cpu_per_request(runs),
        })  # fmt: skip
    results["summary"] = summary


def cpu_per_request(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU milliseconds per answered request by the server, the database and the load
    generator, and the machine's busy share, over the runs that were metered."""
    metered = [run for run in runs if "cpu_s" in run and run["latencies_ms"]]
    requests = sum(len(run["latencies_ms"]) + run["errors"] for run in metered)
    if not requests:
        return {}
    per_request = {
        f"cpu_{part}_ms": sum(run["cpu_s"][part] for run in metered) / requests * 1000
        for part in ("server", "database", "client")
    }
    busy = statistics.fmean(run["cpu_s"]["machine_busy"] for run in metered)
    return {**per_request, "machine_busy": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, 1 round of 1 s")
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 3; quick 1)")
    parser.add_argument("--seconds", type=float, help="seconds per run (default 2; quick 1)")
    parser.add_argument("--deep-pages", type=int, help="GraphQL cursor depth (300; quick 30)")
    parser.add_argument(
        "--baseline",
        default=os.environ.get("BENCH_BASELINE"),
        help="git ref to compare with (BENCH_BASELINE; default: bench/BASELINE, none with --quick;"
        " 'none' skips)",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--client", choices=("auto", "asyncio"), default="auto", help="auto: hey when installed"
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.seconds = args.seconds or (1.0 if args.quick else 2.0)
    args.deep_pages = args.deep_pages or (30 if args.quick else 300)
    if args.baseline in ("none", ""):
        args.baseline = None
    elif args.baseline is None and not args.quick:
        args.baseline = (BENCH / "BASELINE").read_text().split()[0]
    # SIGTERM unwinds like Ctrl-C: the servers, PostgreSQL and the baseline worktree go away.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = measure(args)
    summarize(results)
    from report import write_report  # bench/ is on sys.path as the script's directory

    paths = write_report(results, args.out)
    for path in paths:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
