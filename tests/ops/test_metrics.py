"""``GET /metrics`` of a real server process: the counts move by exactly the requests made,
labels are route templates and bounded operation names, several processes add up through
``PROMETHEUS_MULTIPROC_DIR``, and the endpoint is off, open or behind a bearer token."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from gql_users import metrics
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.hostile.conftest import StartServer
from tests.ops.support import sample, scrape

OPEN = {"GQL_USERS_METRICS": "open", "GQL_USERS_DATABASE_POOL_SIZE": "3"}
REQUESTS = "gql_users_http_requests_total"
OPERATIONS = "gql_users_graphql_operations_total"
GRAPHQL_ERRORS = "gql_users_graphql_errors_total"
LOGIN_FAILURES = "gql_users_login_failures_total"


async def test_counts_move_by_exactly_the_requests_made(
    start_server: StartServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    server = start_server(env={**OPEN, "GQL_USERS_LOCKOUT_FAILURES": "2"})
    alice = await factory.user("alice", password="correct horse 1")
    auth = await factory.auth(alice)
    before = await scrape(http, server)

    user_url = f"{server.base_url}/api/users/{alice.uuid.hex}/"
    for _ in range(3):
        async with http.get(user_url, headers=auth) as response:
            assert response.status == 200
    async with http.get(f"{server.base_url}/api/users/{'0' * 32}/", headers=auth) as response:
        assert response.status == 404
    async with http.get(f"{server.base_url}/no/such/{alice.uuid.hex}") as response:
        assert response.status == 404
    async with http.request("PROPFIND", f"{server.base_url}/api/users/me/") as response:
        assert response.status == 405
    login = f"{server.base_url}/api-auth/password/"
    for _ in range(3):  # two wrong passwords, then refused unchecked: locked out
        async with http.post(login, json={"username": "alice", "password": "wrong"}) as response:
            assert response.status == 401
    graphql = f"{server.base_url}/graphql"
    documents = [
        "query Me { me { uuid } }",
        "query Me { me { uuid } }",
        "{ __typename }",
        f"query {'A' * 65} {{ __typename }}",
        "query Broken { noSuchField }",
        "mutation Out { logout { __typename } }",  # last: it deletes the token
    ]
    for document in documents:
        async with http.post(graphql, json={"query": document}, headers=auth) as response:
            await response.read()
    after = await scrape(http, server)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved(REQUESTS, route="/api/users/{uuid}/", method="GET", status="200") == 3
    assert moved(REQUESTS, route="/api/users/{uuid}/", method="GET", status="404") == 1
    assert moved(REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert moved(REQUESTS, route="/api/users/me/", method="other", status="405") == 1
    assert moved(REQUESTS, route="/api-auth/password/", method="POST", status="401") == 3
    assert moved(REQUESTS, route="/metrics", method="GET", status="200") == 1  # the first scrape
    assert moved(REQUESTS, route="/graphql", method="POST", status="200") == 6
    assert moved(REQUESTS, route="/graphql", method="POST", status="400") == 0
    seconds = "gql_users_http_request_duration_seconds_count"
    assert moved(seconds, route="/api/users/{uuid}/", method="GET") == 4
    sql = "gql_users_http_request_sql_statements_count"
    assert moved(sql, route="/api/users/{uuid}/") == 4
    assert moved("gql_users_http_request_sql_statements_sum", route="/api/users/{uuid}/") >= 4
    assert moved(LOGIN_FAILURES, reason="invalid_credentials") == 2
    assert moved(LOGIN_FAILURES, reason="locked_out") == 1
    assert moved(OPERATIONS, operation="Me", type="query") == 2
    assert moved(OPERATIONS, operation="anonymous", type="query") == 1
    assert moved(OPERATIONS, operation="other", type="query") == 1
    assert moved(OPERATIONS, operation="Broken", type="query") == 1
    assert moved(GRAPHQL_ERRORS, operation="Broken", type="query") == 1
    assert moved(GRAPHQL_ERRORS, operation="Me", type="query") == 0
    assert moved(OPERATIONS, operation="Out", type="mutation") == 1
    # Labels are templates: no path id, no over-long client name reaches them.
    labels = [value for _name, pairs in after for _key, value in pairs]
    assert not [value for value in labels if alice.uuid.hex in value or "A" * 65 in value]
    pool = "gql_users_db_pool_connections"
    assert sample(after, pool, state="size") == 3
    assert 0 <= sample(after, pool, state="checked_out") <= 3
    assert sample(after, pool, state="overflow") == 0


async def test_processes_sharing_a_multiprocess_dir_add_up(
    start_server: StartServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    monkeypatch.setenv(metrics.MULTIPROC_DIR_VARIABLE, str(directory))
    assert metrics.prepare_multiprocess_dir() == directory
    assert list(directory.iterdir()) == []  # the master starts from nothing
    env = {**OPEN, metrics.MULTIPROC_DIR_VARIABLE: str(directory)}
    first, second = start_server("first", env), start_server("second", env)
    for server, count in ((first, 2), (second, 3)):
        for _ in range(count):
            async with http.get(f"{server.base_url}/api/users/me/") as response:
                assert response.status == 401
    me = {"route": "/api/users/me/", "method": "GET", "status": "401"}
    from_first, from_second = await scrape(http, first), await scrape(http, second)
    assert sample(from_first, REQUESTS, **me) == 5
    assert sample(from_second, REQUESTS, **me) == 5
    # A request is counted before its response is sent: the first scrape is in the second.
    assert sample(from_second, REQUESTS, route="/metrics", method="GET", status="200") == 1
    # 3 each, summed over the live processes.
    assert sample(from_second, "gql_users_db_pool_connections", state="size") == 6
    second.stop()
    metrics.mark_process_dead(second.process.pid if second.process else 0)
    after_exit = await scrape(http, first)
    assert sample(after_exit, REQUESTS, **me) == 5  # counters of an ended process still count
    assert sample(after_exit, "gql_users_db_pool_connections", state="size") == 3


async def test_off_is_not_found(start_server: StartServer, http: aiohttp.ClientSession) -> None:
    server = start_server()
    async with http.get(f"{server.base_url}/metrics") as response:
        assert response.status == 404
        assert await response.json() == {"detail": "Not found."}


async def test_token_mode_wants_the_bearer_token(
    start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    secret = "metrics-scraper-secret-42"
    server = start_server(env={"GQL_USERS_METRICS": "token", "GQL_USERS_METRICS_TOKEN": secret})
    url = f"{server.base_url}/metrics"
    for headers in (
        {},
        {"Authorization": f"Bearer {secret}x"},
        {"Authorization": f"Bearer {secret[:-1]}"},
        {"Authorization": f"Token {secret}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {secret}"},
    ):
        async with http.get(url, headers=headers) as response:
            assert response.status == 401, headers
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            body = await response.text()
            assert secret not in body
            assert "detail" in await response.json()
    samples = await scrape(http, server, {"Authorization": f"Bearer {secret}"})
    assert sample(samples, REQUESTS, route="/metrics", method="GET", status="401") == 6


def test_token_mode_needs_a_long_enough_token() -> None:
    with pytest.raises(ValidationError, match="metrics_token"):
        Settings(metrics="token", metrics_token="short")
    with pytest.raises(ValidationError, match="metrics_token"):
        Settings(metrics="token")
    assert Settings(metrics="token", metrics_token="x" * 16).metrics_token == "x" * 16


def test_operation_labels_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operation_names", set())
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("GetUser_2") == "GetUser_2"
    for bad in ("", "2fast", "a-b", "é", "a" * 65, "x y", "Name\n"):
        assert metrics.operation_label(bad) == "other", bad
    names = [f"Op{number}" for number in range(metrics.MAX_OPERATION_NAMES)]
    kept = [name for name in names if metrics.operation_label(name) == name]
    assert kept == names[:-1]  # GetUser_2 took the first place
    assert metrics.operation_label("GetUser_2") == "GetUser_2"  # seen before: still itself
    assert metrics.operation_label("BrandNew") == "other"
