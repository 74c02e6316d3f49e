"""``gql-users serve --workers N``: one port, N processes, run for real on the test's database.

Requests are answered by more than one process (``/health/live`` names the pid that answered),
a worker killed with SIGKILL is replaced, SIGTERM lets a request in flight finish before the
master exits with 0, and parallel writes through two workers (on SQLite: two processes on one
file, taking turns through SQLite's busy timeout) are all answered and all stored.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from gql_users.db.models import User
from tests.conftest import BACKEND, FIGURES, Factory
from tests.hostile.load_traffic import Traffic, missing_writes
from tests.hostile.test_faults import TableLock
from tests.ops.conftest import ServeProcess, StartServe
from tests.ops.support import sample, scrape
from tests.test_cli import gql_users_command

DEADLINE = 20.0  # seconds any one wait below may take at most
CLIENTS = 8


def pids_answering(serve: ServeProcess, tries: int = 20) -> set[int]:
    """The pids that answered ``/health/live``, each time on a new connection."""
    return {serve.live_pid() for _ in range(tries)}


def wait_for(condition: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"not within {DEADLINE}s: {condition}"
        time.sleep(0.1)


def test_two_workers_answer_and_a_killed_worker_is_replaced(start_serve: StartServe) -> None:
    serve = start_serve(workers=2)
    workers = serve.worker_pids()
    assert len(workers) == 2 and serve.pid not in workers

    # Both workers accept on the one port: each answers some of the connections (the second
    # may still be starting when the first answers).
    wait_for("both workers answer", lambda: pids_answering(serve) == workers)

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    wait_for("a new worker replaces the killed one", lambda: victim not in serve.worker_pids())
    wait_for("two workers again", lambda: len(serve.worker_pids()) == 2)
    replaced = serve.worker_pids()
    (newcomer,) = replaced - workers
    assert replaced == (workers - {victim}) | {newcomer}
    # The service keeps answering, and the newcomer serves too once it has started.
    wait_for("the new worker answers", lambda: pids_answering(serve) == replaced)

    assert serve.stop() == 0
    output = serve.log_path.read_text()
    # The command's logging applies in the workers: the app's access lines, in its format.
    assert re.search(r"^\S+ \S+ INFO gql_users\.access .*GET /health/live", output, re.MULTILINE)
    assert f"Running on {serve.base_url} with 2 worker process(es)" in output


async def test_sigterm_lets_a_request_in_flight_finish(
    start_serve: StartServe, factory: Factory, database_url: str
) -> None:
    staff = await factory.user("inflightstaff", is_staff=True)
    target = await factory.user("inflight", job_title="before")
    auth = await factory.auth(staff)
    await factory.session.close()
    serve = start_serve(workers=1, env={"GQL_USERS_GRACEFUL_TIMEOUT": "10"})
    (worker,) = serve.worker_pids()
    assert serve.process is not None

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DEADLINE)) as http:
        async with TableLock(database_url):
            # The write waits for the lock held here: a request in flight for as long as we like.
            patch = asyncio.create_task(
                http.patch(
                    f"{serve.base_url}/api/users/{target.uuid.hex}/",
                    json={"job_title": "after"},
                    headers=auth,
                )
            )
            await asyncio.sleep(0.5)
            serve.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.5)
            # The master and its worker wait for the request instead of exiting...
            assert serve.process.poll() is None, serve.output()
            assert serve.worker_pids() == {worker}
            assert not patch.done()
            # ... and take no new connection meanwhile: the port is closed.
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", serve.port), timeout=2).close()
        # The lock is released: the write goes through, and only then does the worker stop.
        response = await patch
        assert response.status == 200, await response.text()
        assert (await response.json())["job_title"] == "after"

    returncode = await asyncio.to_thread(serve.process.wait, DEADLINE)
    assert returncode == 0, serve.output()
    assert "Shutting down: Master" in serve.output()
    assert "Error while closing socket" not in serve.output()  # gunicorn's harmless complaint
    stored = await factory.session.scalar(select(User.job_title).where(User.id == target.id))
    assert stored == "after"


async def test_parallel_writes_through_two_workers_are_all_answered_and_stored(
    start_serve: StartServe, factory: Factory, record_property: Callable[[str, object], None]
) -> None:
    staff = await factory.user("workerstaff", is_staff=True)
    # One PATCH target per client: the last acknowledged title of each is the stored one.
    targets = [(await factory.user(f"workertarget{i}")).uuid.hex for i in range(CLIENTS)]
    auth = await factory.auth(staff)
    await factory.session.close()
    serve = start_serve(workers=2)

    # A new connection per request, so that the kernel spreads them over both workers.
    connector = aiohttp.TCPConnector(limit=20, force_close=True)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        traffic = Traffic(http, serve.base_url, auth, targets, prefix="workers")
        load = asyncio.create_task(traffic.run(clients=CLIENTS, seconds=2.0))
        answered_by: set[int] = set()
        while not load.done():
            async with http.get(f"{serve.base_url}/health/live") as response:
                answered_by.add((await response.json())["pid"])
            await asyncio.sleep(0.05)
        await load

    record_property(FIGURES, traffic.summary(f"2 workers {BACKEND} {CLIENTS} clients 2 s"))
    assert answered_by == serve.worker_pids()  # both workers were serving during the writes
    assert traffic.created and traffic.patched
    assert [(a.operation, a.status, a.body) for a in traffic.answers if a.status >= 500] == []
    assert {a.status for a in traffic.answers} <= {200, 201}
    assert await missing_writes(factory.session, traffic, exact=True) == []


def test_a_port_in_use_is_a_one_line_error(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*gql_users_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, "GQL_USERS_DATABASE_URL": database_url},
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


async def test_metrics_of_two_workers_add_up(start_serve: StartServe, tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, /metrics from whichever worker answers counts the
    requests of both (docs/operations.md#metrics); the master starts from an empty directory."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    env = {"GQL_USERS_METRICS": "open", "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    serve = start_serve(workers=2, env=env)
    wait_for("both workers answer", lambda: pids_answering(serve) == serve.worker_pids())
    requests = 20
    for _ in range(requests):  # urllib opens a new connection each time: both workers serve
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{serve.base_url}/api/users/me/", timeout=5)
        assert refused.value.code == 401
    async with aiohttp.ClientSession() as http:
        samples = await scrape(http, serve.base_url)
    me = {"route": "/api/users/me/", "method": "GET", "status": "401"}
    assert sample(samples, "gql_users_http_requests_total", **me) == requests
    assert sample(samples, "gql_users_db_pool_connections", state="size") > 0
