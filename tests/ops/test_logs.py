"""The logs of ``gql-users serve`` (a real process, its standard error captured): one access
line per request with its fields, request ids taken, sanitized or made and echoed everywhere,
SQL statements only when asked, and no secret in any line."""

from __future__ import annotations

import errno
import logging
import re
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gql_users.db.models import EmailChangeRequest, User
from gql_users.logs import (
    ACCESS,
    GUNICORN_CLOSE_ERROR,
    ListenerClosedTwiceFilter,
    TextFormatter,
)
from tests.conftest import Factory
from tests.hostile.conftest import StartServer
from tests.live_server import LiveServer
from tests.ops.support import json_lines

JSON_LOGS = {"GQL_USERS_LOG_FORMAT": "json"}
ACCESS_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "caller",
    "sql_count",
    "operation",
}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def access_lines(server: LiveServer) -> list[dict[str, Any]]:
    return [line for line in json_lines(server) if line["logger"] == "gql_users.access"]


async def test_each_request_writes_one_access_line(
    start_server: StartServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    server = start_server(env=JSON_LOGS, cli=True)
    alice = await factory.user("alice")
    auth = await factory.auth(alice)
    base = server.base_url
    graphql = {"query": "query Me { me { username } }"}
    requests: list[tuple[str, str, dict[str, Any], int, str]] = [
        (
            "GET",
            f"/api/users/{alice.uuid.hex}/?token=in-the-query",
            auth,
            200,
            "/api/users/{uuid}/",
        ),
        ("GET", "/api/users/me/", {}, 401, "/api/users/me/"),
        ("GET", f"/nowhere/{alice.uuid.hex}", {}, 404, "unmatched"),
        ("DELETE", "/api/users/me/", auth, 405, "/api/users/me/"),
        ("POST", "/graphql", {**auth, "json": graphql}, 200, "/graphql"),
        ("POST", "/api/users/", {**auth, "data": "{not json"}, 403, "/api/users/"),
    ]
    for number, (method, path, options, status, _route) in enumerate(requests):
        headers = {key: value for key, value in options.items() if key not in ("json", "data")}
        body = {key: value for key, value in options.items() if key in ("json", "data")}
        headers["X-Request-Id"] = f"req-{number}"
        if "data" in body:
            headers["Content-Type"] = "application/json"
        async with http.request(method, base + path, headers=headers, **body) as response:
            assert response.status == status, (path, await response.text())
            assert response.headers["X-Request-Id"] == f"req-{number}"

    lines = access_lines(server)
    for number, (method, _path, options, status, route) in enumerate(requests):
        [line] = [line for line in lines if line["request_id"] == f"req-{number}"]
        assert set(line) == ACCESS_FIELDS
        assert (line["method"], line["route"], line["status"]) == (method, route, status)
        assert line["caller"] == (alice.uuid.hex if "Authorization" in options else None)
        assert line["operation"] == ("Me" if route == "/graphql" else None)
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert isinstance(line["sql_count"], int)
        assert line["sql_count"] >= (1 if "Authorization" in options else 0)
        assert line["level"] == "INFO"
        datetime.fromisoformat(line["time"])
    # The only other requests were the start-up wait's polls of /health.
    ours = {f"req-{number}" for number in range(len(requests))}
    assert {line["route"] for line in lines if line["request_id"] not in ours} == {"/health"}
    loggers = {line["logger"] for line in json_lines(server)}
    assert "aiohttp.access" not in loggers
    assert not [name for name in loggers if name.startswith("sqlalchemy")]


async def test_request_ids_are_taken_sanitized_or_made(
    start_server: StartServer, http: aiohttp.ClientSession
) -> None:
    server = start_server(env=JSON_LOGS, cli=True)
    url = f"{server.base_url}/api/users/me/"
    sane = "Abc-09_z." + "x" * 119  # 128 characters
    async with http.get(url, headers={"X-Request-Id": sane}) as response:
        assert response.headers["X-Request-Id"] == sane
    made: list[str] = []
    for given in ("x" * 129, "two words", "semi;colon", "ünïcode", "", None):
        headers = {} if given is None else {"X-Request-Id": given}
        async with http.get(url, headers=headers) as response:
            assert response.status == 401
            request_id = response.headers["X-Request-Id"]
        assert GENERATED_ID.fullmatch(request_id), (given, request_id)
        made.append(request_id)
    assert len(set(made)) == len(made)
    # Errors made outside the handlers carry it too: a redirect raised as an exception, 404, 405.
    for method, path, headers in (
        ("GET", "/graphql", {"Accept": "text/html"}),
        ("GET", "/missing", {}),
        ("PUT", "/api-auth/password/", {}),
    ):
        headers = {**headers, "X-Request-Id": f"edge-{method}"}
        async with http.request(
            method, server.base_url + path, headers=headers, allow_redirects=False
        ) as response:
            assert response.status in (302, 404, 405)
            assert response.headers["X-Request-Id"] == f"edge-{method}"
    logged = {line["request_id"] for line in access_lines(server)}
    assert {sane, *made, "edge-GET", "edge-PUT"} <= logged


async def test_a_masked_graphql_error_names_the_request(
    start_server: StartServer,
    http: aiohttp.ClientSession,
    factory: Factory,
    session: AsyncSession,
) -> None:
    server = start_server(env=JSON_LOGS, cli=True)
    alice = await factory.user("alice")
    headers = {**await factory.auth(alice), "X-Request-Id": "trace-me-1"}
    # A real failure inside a resolver: the table its DataLoader reads is gone.
    await session.execute(text("DROP TABLE email_change_requests"))
    await session.commit()
    document = {"query": "{ me { username requestedEmail } }"}
    async with http.post(f"{server.base_url}/graphql", json=document, headers=headers) as response:
        assert response.headers["X-Request-Id"] == "trace-me-1"
        [error] = (await response.json())["errors"]
    assert error["extensions"]["requestId"] == "trace-me-1"
    [logged] = [line for line in json_lines(server) if line["level"] == "ERROR"]
    assert logged["request_id"] == "trace-me-1"
    assert error["extensions"]["errorId"] in logged["message"]
    assert "email_change_requests" in logged["exception"]


async def test_sql_statements_appear_only_when_asked(
    start_server: StartServer, http: aiohttp.ClientSession, factory: Factory
) -> None:
    alice = await factory.user("alice")
    auth = await factory.auth(alice)
    quiet = start_server("quiet", cli=True)
    chatty = start_server("chatty", env={"GQL_USERS_LOG_SQL": "true"}, cli=True)
    for server in (quiet, chatty):
        async with http.get(f"{server.base_url}/api/users/me/", headers=auth) as response:
            assert response.status == 200
            assert int(response.headers.get("X-SQL-Count", "0")) == 0  # DEBUG_SQL is off
    quiet_log = quiet.log_path.read_text(encoding="utf-8")
    [access] = [line for line in quiet_log.splitlines() if "/api/users/me/" in line]
    assert "INFO gql_users.access GET /api/users/me/ 200" in access
    assert f"caller={alice.uuid.hex}" in access
    assert "sqlalchemy" not in quiet_log
    assert "SELECT" not in quiet_log
    chatty_log = chatty.log_path.read_text(encoding="utf-8")
    assert "INFO sqlalchemy.engine" in chatty_log
    assert "SELECT" in chatty_log


async def test_a_whole_scenario_leaves_no_secret_in_the_logs(
    start_server: StartServer,
    http: aiohttp.ClientSession,
    factory: Factory,
    session: AsyncSession,
) -> None:
    """At DEBUG, with SQL statements logged: passwords, tokens, hashes, the email change's
    code and every statement parameter stay out of every line."""
    env = {**JSON_LOGS, "GQL_USERS_LOG_LEVEL": "DEBUG", "GQL_USERS_LOG_SQL": "true"}
    server = start_server(env=env, cli=True)
    first, second, wrong = "first-Pa55word-q1", "second-Pa55word-q2", "wrong-Pa55word-q3"
    new_email = "new-address-q7@example.org"
    user = await factory.user(
        "scenario.user", password=first, with_token=False, is_staff=True
    )  # staff: Waldur lets only staff change a password
    base = server.base_url

    async def call(method: str, path: str, **options: Any) -> tuple[int, Any]:
        async with http.request(method, base + path, **options) as response:
            return response.status, await response.json()

    login = "/api-auth/password/?password=query-secret-q4"
    status, body = await call("POST", login, json={"username": user.username, "password": first})
    assert status == 200
    token = body["token"]
    auth = {"Authorization": f"Token {token}"}
    status, _ = await call("GET", "/api/users/me/", headers=auth)
    assert status == 200
    change = f"/api/users/{user.uuid.hex}/change_password/"
    status, _ = await call("POST", change, json={"new_password": second}, headers=auth)
    assert status == 200
    status, _ = await call(
        "POST", "/api-auth/password/", json={"username": user.username, "password": wrong}
    )
    assert status == 401
    mutation = {
        "query": "mutation In($u: String, $p: String) { login(username: $u, password: $p) "
        "{ token } }",
        "variables": {"u": user.username, "p": second},
    }
    status, body = await call("POST", "/graphql", json=mutation)
    assert status == 200
    graphql_token = body["data"]["login"]["token"]
    change_email = f"/api/users/{user.uuid.hex}/change_email/"
    status, _ = await call("POST", change_email, json={"email": new_email}, headers=auth)
    assert status == 200

    user_id = user.id
    session.expire_all()
    password_hash = await session.scalar(select(User.password).where(User.id == user_id))
    code = await session.scalar(
        select(EmailChangeRequest.uuid).where(EmailChangeRequest.user_id == user_id)
    )
    assert password_hash and code is not None
    log = server.log_path.read_text(encoding="utf-8")
    lines = json_lines(server)
    assert [line for line in lines if line["logger"].startswith("sqlalchemy.engine")]
    assert [line for line in lines if line["level"] == "DEBUG"]
    assert len([line for line in lines if line["logger"] == "gql_users.access"]) >= 6
    secrets = (first, second, wrong, token, graphql_token, password_hash, "query-secret-q4")
    # (Usernames are no secret: the audit lines name them.)
    for secret in (*secrets, code.hex, str(code), new_email):
        assert secret not in log, secret


def test_text_lines_name_the_request_they_belong_to() -> None:
    formatter = TextFormatter()
    attributes = {"name": "gql_users.web", "levelname": "ERROR", "msg": "failed %s", "args": (1,)}
    inside = logging.makeLogRecord({**attributes, "request_id": "rq-1"})
    outside = logging.makeLogRecord({**attributes, "request_id": None})
    access = logging.makeLogRecord({**attributes, "request_id": "rq-1", ACCESS: {}})
    assert formatter.format(inside).endswith(" ERROR gql_users.web [request rq-1] failed 1")
    assert formatter.format(outside).endswith(" ERROR gql_users.web failed 1")
    assert formatter.format(access).endswith(" ERROR gql_users.web failed 1")
    assert inside.getMessage() == "failed 1"  # other handlers see the record unchanged


def test_only_gunicorns_complaint_about_a_listener_closed_twice_is_dropped() -> None:
    """A worker's stop: uvloop closed the listener's descriptor before gunicorn closes its
    object for it (EBADF, harmless). Any other failure to close a socket is still logged."""
    dropped = ListenerClosedTwiceFilter()

    def record(error: OSError) -> logging.LogRecord:
        return logging.LogRecord(
            "gunicorn.error", logging.INFO, "sock.py", 84, GUNICORN_CLOSE_ERROR, (str(error),), None
        )

    assert not dropped.filter(record(OSError(errno.EBADF, "Bad file descriptor")))
    assert dropped.filter(record(OSError(errno.EIO, "Input/output error")))
    other = logging.LogRecord("gunicorn.error", logging.INFO, "x", 1, "Booting %s", (1,), None)
    assert dropped.filter(other)
